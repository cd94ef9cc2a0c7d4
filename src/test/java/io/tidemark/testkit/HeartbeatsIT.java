package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.FaultSettings;
import java.time.Duration;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.Test;

/**
 * Heartbeats: a quiet collection's checkpoint keeps up with an oplog that others turn over, so a
 * restart finds its position; without heartbeats the control case ages out.
 */
class HeartbeatsIT extends FaultsFixture {

  @Test
  void heartbeatsKeepAQuietCollectionsCheckpointInTheOplog() throws Exception {
    FaultSettings heartbeats = FaultSettings.defaults().heartbeat(true, Duration.ofMillis(200));
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("quiet", heartbeats, store, received, 1);
    BsonTimestamp quietEvent = received.last().clusterTime();

    // The busy collection turns the oplog over 1.5 times, a tenth of it at a time: after each tenth the
    // quiet stream's heartbeat checkpoint catches up with it. (Written all at once, faster than one
    // heartbeat interval, the writes would push the quiet stream's position out of the oplog before any
    // heartbeat: the limit of heartbeats on any server, not what this test is about.)
    int writes = mongo.canTruncateOplog() ? OPLOG_ENTRIES * 3 / 2 : 2_000;
    int tenth = OPLOG_ENTRIES / 10;
    for (int from = 0; from < writes; from += tenth) {
      insert("busy", from, Math.min(writes, from + tenth));
      BsonTimestamp written = mongo.database("admin").runCommand(new org.bson.Document("ping", 1)).get("operationTime", BsonTimestamp.class);
      Await.until(Duration.ofSeconds(30), () -> {
            Checkpoint saved = store.get("quiet").orElseThrow();
            return saved.clusterTime() != null && saved.clusterTime().compareTo(written) >= 0;
          }, () -> "the quiet stream's heartbeat at or after the busy writes up to " + written + "; have " + store.get("quiet"));
    }

    Await.until(Duration.ofSeconds(30), () -> {
          Checkpoint saved = store.get("quiet").orElseThrow();
          return saved.kind() == CheckpointKind.HEARTBEAT && saved.clusterTime() != null
              && saved.clusterTime().compareTo(mongo.oldestOplogTime()) >= 0;
        }, () -> "a heartbeat checkpoint still in the oplog; have " + store.get("quiet") + ", oldest entry " + mongo.oldestOplogTime());
    if (mongo.canTruncateOplog()) {
      assertThat(mongo.oldestOplogTime()).as("the quiet event itself was truncated").isGreaterThan(quietEvent);
    }
    await(control.drainAndStop());

    PipelineControl again = start("quiet", "quiet", heartbeats, store, received);
    started(again);
    insert("quiet", 1, 3);
    awaitIds(received, range(0, 3));
    assertThat(again.stats().gaps()).isZero();
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
  }

  @Test
  void withoutHeartbeatsTheQuietCollectionsCheckpointAgesOut() throws Exception {
    assumeTrue(mongo.canTruncateOplog(), "a real replica set's oplog is too large to turn over in a test; the kit shows the control case");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("aged", quiet(), store, received, 1);
    awaitSavedToken(control, received.last().resumeToken());

    // Stopped first: nothing runs to keep the checkpoint up while the oplog turns over.
    await(control.drainAndStop());
    writeElsewhere("busy-aged");

    PipelineControl again = start("aged", "aged", quiet(), store, new Received());
    assertThat(failure(again)).hasMessageContaining("history lost").hasMessageContaining("286");
  }

  /**
   * Writes to another collection, one document at a time as a busy application does, until the
   * oplog has been turned over 1.5 times. (The heartbeats keep up with writes as they come; what
   * must have kept up is waited for afterwards, on its condition.)
   */
  private void writeElsewhere(String busy) {
    int writes = mongo.canTruncateOplog() ? OPLOG_ENTRIES * 3 / 2 : 2_000;
    for (int id = 0; id < writes; id++) insert(busy, id, id + 1);
  }
}
