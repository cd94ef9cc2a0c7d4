package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointEntity;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointSettings;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.FaultSettings.Restart;
import java.time.Duration;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.junit.jupiter.api.Test;

/**
 * Invalid tokens: a token the server refuses, or a stored value that does not parse, stops the
 * stream naming the stream and the value, checkpoint untouched; on-invalid-token = restart-from-now
 * goes on and records the gap.
 */
class InvalidTokenIT extends FaultsFixture {

  @Test
  void anInvalidTokenFailsClearlyOrRestartsAsThePolicySays() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    if (mongo.embedded()) {
      saveToken(store, "invalid", new BsonDocument("_data", new BsonString("not-a-token")));
    } else {
      checkpointAfter("invalid", "invalid", 3, store);
      mongo.failCommand(FailCommand.on("aggregate").errorCode(260).times(1));
    }
    PipelineControl failing = start("invalid", "invalid", quiet(), store, new Received());
    assertThat(failure(failing))
        .hasMessageContaining("stream 'invalid': the server refuses the resume token")
        .hasMessageContaining("260")
        .hasMessageContaining("on-invalid-token = fail: stopped, checkpoint untouched");
    assertThat(store.history("invalid")).noneMatch(c -> c.kind() == CheckpointKind.GAP);

    if (!mongo.embedded()) mongo.failCommand(FailCommand.on("aggregate").errorCode(260).times(1));
    Received received = new Received();
    PipelineControl control = start("invalid", "invalid", quiet().onInvalidToken(Restart.RESTART_FROM_NOW), store, received);
    started(control);
    insert("invalid", 10, 13);
    awaitIds(received, range(10, 13));
    assertThat(onlyGap(store, "invalid").note()).contains("invalid resume token").contains("260").contains("restart-from-now");
    assertThat(control.stats().gaps()).isEqualTo(1);
  }

  @Test
  void anUnparsableStoredTokenNamesTheStreamAndTheValue() throws Exception {
    // The journal in an actor system of its own: its streams live as long as the system.
    ActorTestKit journal = journalKit(TestConfigs.h2Journal("invalid_token_" + Long.toHexString(System.nanoTime())));
    JdbcCheckpointStore store = JdbcCheckpointStore.create(journal.system());
    await(store.ready());
    var writer = journal.spawn(CheckpointEntity.create("unparsable", JdbcCheckpointSettings.create(journal.system())));
    akka.pattern.StatusReply<akka.Done> written = await(akka.actor.typed.javadsl.AskPattern.ask(
        writer, (akka.actor.typed.ActorRef<akka.pattern.StatusReply<akka.Done>> replyTo) ->
            new CheckpointEntity.Save("{\"_data\": 82", 5L, 1L, 0L, replyTo),
        Duration.ofSeconds(10), journal.system().scheduler()));
    assertThat(written.isSuccess()).isTrue();
    journal.stop(writer);

    PipelineControl failing = start("unparsable", "unparsable", quiet(), store, new Received());
    assertThat(failure(failing))
        .hasMessageContaining("stream 'unparsable'")
        .hasMessageContaining("'{\"_data\": 82'")
        .hasMessageContaining("is not valid JSON");

    Received received = new Received();
    PipelineControl control = runThrough("unparsable", quiet().onInvalidToken(Restart.RESTART_FROM_NOW), store, received, 3);
    await(control.drainAndStop());
    StreamCheckpoints record = await(store.open("unparsable"));
    List<Checkpoint> history = await(record.history());
    await(record.close());
    assertThat(history).filteredOn(c -> c.kind() == CheckpointKind.GAP).singleElement()
        .satisfies(gap -> assertThat(gap.note()).contains("unusable stored token").contains("restart-from-now"));
  }
}
