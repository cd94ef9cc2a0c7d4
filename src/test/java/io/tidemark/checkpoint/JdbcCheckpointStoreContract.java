package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.StatusReply;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** What every JDBC database behind the checkpoint store must do; run against H2 and PostgreSQL. */
abstract class JdbcCheckpointStoreContract {

  /** The journal configuration of one database, the same for every actor system of a test. */
  abstract Config journal();

  private ActorTestKit newSystem() {
    return ActorTestKit.create(getClass().getSimpleName(), journal().withFallback(ConfigFactory.load()));
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static Checkpoint checkpointAt(String stream, long seqNr) {
    ChangeEnvelope envelope = Envelopes.insert(seqNr);
    return Checkpoint.atToken(stream, envelope.resumeToken(), envelope.clusterTime());
  }

  @Test
  void aSavedCheckpointSurvivesTheActorSystem() throws Exception {
    ActorTestKit first = newSystem();
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(first.system());
      StreamCheckpoints orders = await(store.open("orders"));
      assertThat(await(orders.load())).isEmpty();
      await(orders.save(checkpointAt("orders", 41)));
      await(orders.save(checkpointAt("orders", 42)));
      await(orders.close());
    } finally {
      first.shutdownTestKit();
    }
    ActorTestKit second = newSystem();
    try {
      StreamCheckpoints orders = await(JdbcCheckpointStore.create(second.system()).open("orders"));
      Optional<Checkpoint> loaded = await(orders.load());
      assertThat(loaded).contains(checkpointAt("orders", 42));
      assertThat(loaded.get().position().describe()).isEqualTo("resumeAfter {\"_data\": \"000000000000002a\"}");
    } finally {
      second.shutdownTestKit();
    }
  }

  @Test
  void twoStreamsNeverShareACheckpoint() throws Exception {
    ActorTestKit kit = newSystem();
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      StreamCheckpoints a = await(store.open("stream-a"));
      StreamCheckpoints b = await(store.open("stream-b"));
      await(a.save(checkpointAt("stream-a", 7)));
      await(b.save(checkpointAt("stream-b", 9)));
      await(a.save(checkpointAt("stream-a", 8)));
      assertThat(await(a.load())).contains(checkpointAt("stream-a", 8));
      assertThat(await(b.load())).contains(checkpointAt("stream-b", 9));
      assertThatThrownBy(() -> b.save(checkpointAt("stream-a", 10))).hasMessageContaining("through the record of 'stream-b'");
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void aStreamIsOpenedOncePerProcess() throws Exception {
    ActorTestKit kit = newSystem();
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      StreamCheckpoints once = await(store.open("single"));
      assertThatThrownBy(() -> await(store.open("single"))).hasMessageContaining("already open in this process");
      await(once.close());
      assertThat(await(await(store.open("single")).load())).isEmpty();
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void manySavesRecoverTheNewestThroughSnapshots() throws Exception {
    ActorTestKit kit = newSystem();
    try {
      StreamCheckpoints busy = await(JdbcCheckpointStore.create(kit.system()).open("busy"));
      for (long seqNr = 1; seqNr <= 250; seqNr++) await(busy.save(checkpointAt("busy", seqNr)));
      await(busy.close());
    } finally {
      kit.shutdownTestKit();
    }
    ActorTestKit next = newSystem();
    try {
      StreamCheckpoints busy = await(JdbcCheckpointStore.create(next.system()).open("busy"));
      assertThat(await(busy.load())).contains(checkpointAt("busy", 250));
    } finally {
      next.shutdownTestKit();
    }
  }

  @Test
  void aCorruptStoredTokenIsReportedAndLeftAsItIs() throws Exception {
    ActorTestKit kit = newSystem();
    try {
      JdbcCheckpointSettings settings = JdbcCheckpointSettings.create(kit.system());
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      ActorRef<CheckpointEntity.Command> writer = kit.spawn(CheckpointEntity.create("damaged", settings));
      StatusReply<Done> written = await(AskPattern.ask(
          writer, (ActorRef<StatusReply<Done>> replyTo) -> new CheckpointEntity.Save("{not a token", 5L, 1L, replyTo),
          Duration.ofSeconds(10), kit.system().scheduler()));
      assertThat(written.isSuccess()).isTrue();
      kit.stop(writer);

      StreamCheckpoints damaged = await(store.open("damaged"));
      assertThatThrownBy(() -> await(damaged.load()))
          .isInstanceOf(java.util.concurrent.ExecutionException.class)
          .cause()
          .isInstanceOf(CorruptCheckpointException.class)
          .hasMessageContaining("stream 'damaged'")
          .hasMessageContaining("'{not a token'")
          .hasMessageContaining("is not valid JSON");
      await(damaged.close());

      ActorRef<CheckpointEntity.Command> reader = kit.spawn(CheckpointEntity.create("damaged", settings));
      CheckpointEntity.State state = await(AskPattern.ask(reader, CheckpointEntity.Get::new, Duration.ofSeconds(10), kit.system().scheduler()));
      assertThat(state.tokenJson).isEqualTo("{not a token");
    } finally {
      kit.shutdownTestKit();
    }
  }

}
