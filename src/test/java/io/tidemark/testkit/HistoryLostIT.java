package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings.Restart;
import io.tidemark.source.ResumeTokens;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.Test;

/**
 * History lost: a checkpoint the oplog no longer holds (or a token the server cannot find) fails
 * the stream by default and leaves the checkpoint; the restart policies go on from the oldest entry
 * or from now and record exactly the gap they made.
 */
class HistoryLostIT extends FaultsFixture {

  /** Stores a checkpoint the server no longer has: truncated out of the kit's capped oplog, or, on a real replica set, long ago. */
  private Checkpoint lostCheckpoint(String stream, InMemoryCheckpointStore store) throws Exception {
    if (mongo.canTruncateOplog()) {
      checkpointAfter(stream, stream, 5, store);
      Checkpoint stored = store.get(stream).orElseThrow();
      long filled = mongo.pushOutOfOplog(stored.clusterTime(), DB, stream + "-filler");
      assertThat(filled).as("filler written to truncate the oplog").isGreaterThan(0);
      assertThat(mongo.oldestOplogTime()).isGreaterThan(stored.clusterTime());
      return stored;
    }
    StreamCheckpoints record = await(store.open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(Checkpoint.atOperationTime(stream, new BsonTimestamp(1, 1)).as(CheckpointKind.EVENT, null), epoch));
    await(record.close());
    return store.get(stream).orElseThrow();
  }

  @Test
  void historyLostFailsByDefaultAndLeavesTheCheckpoint() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Checkpoint lost = lostCheckpoint("lost-fail", store);

    Received received = new Received();
    PipelineControl control = start("lost-fail", "lost-fail", quiet(), store, received);

    assertThat(failure(control))
        .hasMessageContaining("stream 'lost-fail': history lost")
        .hasMessageContaining("286")
        .hasMessageContaining("on-history-lost = fail: stopped, checkpoint untouched");
    assertThat(store.get("lost-fail").orElseThrow().resumeToken()).isEqualTo(lost.resumeToken());
    assertThat(store.get("lost-fail").orElseThrow().clusterTime()).isEqualTo(lost.clusterTime());
    assertThat(received.events).isEmpty();
    assertThat(control.stats().gaps()).isZero();
  }

  @Test
  void historyLostRestartsFromTheOldestEntryAndRecordsTheGap() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    lostCheckpoint("lost-oldest", store);
    insert("lost-oldest", 100, 103); // in the oplog, after the truncation: the oldest entry still precedes them
    BsonTimestamp oldest = mongo.oldestOplogTime();

    Received received = new Received();
    PipelineControl control = start("lost-oldest", "lost-oldest", quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST), store, received);

    awaitIds(received, range(100, 103));
    Checkpoint gap = onlyGap(store, "lost-oldest");
    assertThat(gap.clusterTime()).as("restarted at the oldest entry the oplog holds").isEqualTo(oldest);
    assertThat(gap.note()).contains("history lost").contains("restart-from-oldest");
    assertThat(control.stats().gaps()).isEqualTo(1);
    assertThat(received.ids()).as("nothing still in the oplog was skipped").isEqualTo(range(100, 103));
  }

  @Test
  void historyLostRestartsFromNowAndRecordsTheGap() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    lostCheckpoint("lost-now", store);
    insert("lost-now", 200, 203); // before "now": skipped by the policy
    BsonTimestamp afterSkipped = operationTime();

    Received received = new Received();
    PipelineControl control = start("lost-now", "lost-now", quiet().onHistoryLost(Restart.RESTART_FROM_NOW), store, received);
    started(control);
    insert("lost-now", 203, 206);

    awaitIds(received, range(203, 206));
    Checkpoint gap = onlyGap(store, "lost-now");
    assertThat(gap.clusterTime()).as("the gap ends at now, after the skipped writes").isGreaterThanOrEqualTo(afterSkipped);
    assertThat(gap.note()).contains("history lost").contains("restart-from-now").containsPattern("the events after Timestamp\\(\\d+, \\d+\\) and before Timestamp\\(\\d+, \\d+\\) are skipped");
    assertThat(received.ids()).as("exactly the events after now").isEqualTo(range(203, 206));
    assertThat(control.stats().gaps()).isEqualTo(1);
  }

  @Test
  void historyLostWhileRunningRecordsTheGapAfterTheEventsBeforeIt() throws Exception {
    assumeTrue(mongo.canTruncateOplog(), "needs an oplog a test can turn over while the stream waits");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    // Counts the change events the driver has received from the server for this stream.
    AtomicInteger read = new AtomicInteger();
    com.mongodb.event.CommandListener listener = new com.mongodb.event.CommandListener() {
      @Override
      public void commandSucceeded(com.mongodb.event.CommandSucceededEvent event) {
        BsonDocument cursor = event.getResponse().getDocument("cursor", null);
        if (cursor == null) return;
        var batch = cursor.containsKey("nextBatch") ? cursor.getArray("nextBatch") : cursor.getArray("firstBatch", new org.bson.BsonArray());
        batch.forEach(change -> {
          if (change.isDocument() && change.asDocument().containsKey("documentKey")) read.incrementAndGet();
        });
      }
    };
    com.mongodb.reactivestreams.client.MongoClient client = com.mongodb.reactivestreams.client.MongoClients.create(
        com.mongodb.MongoClientSettings.builder().applyConnectionString(new com.mongodb.ConnectionString(mongo.uri()))
            .addCommandListener(listener).build());
    PipelineControl control = run(Pipeline.named("behind")
        .mongoClient(client)
        .collection(DB, "behind")
        .checkpoints(store)
        .windowSettings(WindowSettings.of(5, 5, Duration.ofMillis(100)))
        .sourceSettings(SourceSettings.create(system()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST))
        .mapAsync(event -> gate.thenApply(open -> received.record(event))));
    control.completion().whenComplete((done, error) -> client.close());
    started(control);
    BsonTimestamp lastWritten;
    try {
      insert("behind", 0, 30);
      // The stage holds the first event; the cursor reads as many as the stream asks for (its buffers), then waits.
      Await.until(Duration.ofSeconds(10), () -> read.get() >= 16, () -> "events read by the cursor; read " + read.get());
      lastWritten = operationTime();
      mongo.pushOutOfOplog(lastWritten, DB, "behind-filler");
    } finally {
      gate.complete(null);
    }
    insert("behind", 100, 103);

    awaitIds(received, range(100, 103));
    Set<Object> before = new TreeSet<>(received.ids());
    before.removeAll(range(100, 103));
    assertThat(before).as("what the cursor had read before the oplog rolled over it, in order, without holes")
        .isEqualTo(range(0, before.size())).isNotEmpty();
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    Checkpoint gap = onlyGap(store, "behind");
    assertThat(gap.note()).contains("history lost").contains("restart-from-oldest");
    assertThat(gap.clusterTime()).as("the gap ends past everything truncated").isGreaterThan(lastWritten);
    List<Checkpoint> history = store.history("behind");
    assertThat(history).extracting(Checkpoint::clusterTime).isSortedAccordingTo(BsonTimestamp::compareTo);
    int gapAt = history.indexOf(gap);
    ChangeEnvelope lastBefore = received.events.stream().filter(e -> !range(100, 103).contains(e.documentKey().getInt32("_id").getValue()))
        .reduce((a, b) -> b).orElseThrow();
    assertThat(history.subList(0, gapAt)).as("the events before the gap were checkpointed before it")
        .anyMatch(c -> lastBefore.resumeToken().equals(c.resumeToken()));
    assertThat(control.stats().gaps()).isEqualTo(1);
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  @Test
  void aTokenTheServerCannotFindIsHistoryLost() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    if (mongo.embedded()) {
      // A well-formed token of a time the oplog has no entry at, within its history: 280, "not found".
      BsonDocument token = checkpointAfter("not-found", "not-found", 3, store);
      String data = token.getString("_data").getValue();
      long ts = ResumeTokens.clusterTime(token).getValue() & 0xFFFFFFFF00000000L | 0xFFFFFF00L; // an increment never reached
      BsonDocument missing = new BsonDocument("_data", new BsonString(String.format("82%016X", ts) + data.substring(18)));
      saveToken(store, "not-found", missing);

      Received received = new Received();
      PipelineControl failing = start("not-found", "not-found", quiet(), store, received);
      assertThat(failure(failing)).hasMessageContaining("history lost").hasMessageContaining("280");

      PipelineControl control = start("not-found", "not-found", quiet().onHistoryLost(Restart.RESTART_FROM_NOW), store, received);
      started(control);
      insert("not-found", 10, 12);
      awaitIds(received, range(10, 12));
      assertThat(onlyGap(store, "not-found").note()).contains("280");
    } else {
      // A real 4.4+ server reports a token it cannot find as 286; a 280 on the aggregate is fatal.
      mongo.failCommand(FailCommand.on("aggregate").errorCode(280).times(1));
      PipelineControl control = start("not-found", "not-found", quiet(), store, new Received());
      assertThat(failure(control)).hasMessageContaining("280");
    }
  }

  @Test
  void restartFromTheOldestAfterATokenNotFoundMovesTheCheckpointBackAndSaysNothingWasSkipped() throws Exception {
    assumeTrue(mongo.embedded(), "a well-formed token the oplog has no entry at is made on the kit");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    BsonDocument token = checkpointAfter("not-found-oldest", "not-found-oldest", 3, store);
    String data = token.getString("_data").getValue();
    long ts = ResumeTokens.clusterTime(token).getValue() & 0xFFFFFFFF00000000L | 0xFFFFFF00L; // an increment never reached
    saveToken(store, "not-found-oldest", new BsonDocument("_data", new BsonString(String.format("82%016X", ts) + data.substring(18))));

    Received received = new Received();
    PipelineControl control = start("not-found-oldest", "not-found-oldest", quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST), store, received);
    started(control);
    insert("not-found-oldest", 10, 12);

    // The oldest entry of the oplog is older than the lost position: the stream goes back there and replays.
    awaitIds(received, new TreeSet<>(List.of(0, 1, 2, 10, 11)));
    Checkpoint gap = onlyGap(store, "not-found-oldest");
    assertThat(gap.note()).contains("280").contains("restart-from-oldest").contains("nothing is skipped");
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }
}
