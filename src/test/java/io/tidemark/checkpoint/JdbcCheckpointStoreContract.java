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
      long epoch = await(orders.acquire()).epoch();
      await(orders.save(checkpointAt("orders", 41), epoch));
      await(orders.save(checkpointAt("orders", 42), epoch));
      await(orders.close());
    } finally {
      first.shutdownTestKit();
    }
    ActorTestKit second = newSystem();
    try {
      StreamCheckpoints orders = await(JdbcCheckpointStore.create(second.system()).open("orders"));
      Acquired acquired = await(orders.acquire());
      Optional<Checkpoint> loaded = acquired.checkpoint();
      assertThat(loaded).contains(checkpointAt("orders", 42));
      assertThat(loaded.get().epoch()).isEqualTo(1);
      assertThat(acquired.epoch()).isEqualTo(2);
      assertThat(loaded.get().position().describe()).isEqualTo("resumeAfter " + checkpointAt("orders", 42).resumeToken().toJson());
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
      long epochA = await(a.acquire()).epoch();
      long epochB = await(b.acquire()).epoch();
      await(a.save(checkpointAt("stream-a", 7), epochA));
      await(b.save(checkpointAt("stream-b", 9), epochB));
      await(a.save(checkpointAt("stream-a", 8), epochA));
      assertThat(await(a.load())).contains(checkpointAt("stream-a", 8));
      assertThat(await(b.load())).contains(checkpointAt("stream-b", 9));
      assertThatThrownBy(() -> b.save(checkpointAt("stream-a", 10), epochB)).hasMessageContaining("through the record of 'stream-b'");
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
      long epoch = await(busy.acquire()).epoch();
      for (long seqNr = 1; seqNr <= 250; seqNr++) await(busy.save(checkpointAt("busy", seqNr), epoch));
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

  /**
   * Two consumers race on one stream in two actor systems, as a partitioned old leader and its
   * successor would: each has its own entity for the stream, on the same database.
   */
  @Test
  void aFencedConsumerCannotWriteAndTheCheckpointNeverMovesBackwards() throws Exception {
    ActorTestKit oldNode = newSystem();
    ActorTestKit newNode = newSystem();
    try {
      StreamCheckpoints oldLeader = await(JdbcCheckpointStore.create(oldNode.system()).open("contested"));
      long oldEpoch = await(oldLeader.acquire()).epoch();
      await(oldLeader.save(checkpointAt("contested", 100), oldEpoch));

      StreamCheckpoints newLeader = await(JdbcCheckpointStore.create(newNode.system()).open("contested"));
      Acquired taken = await(newLeader.acquire());
      assertThat(taken.epoch()).isGreaterThan(oldEpoch);
      assertThat(taken.checkpoint()).contains(checkpointAt("contested", 100));

      // The old leader, cut off, goes on: every write is refused, however far ahead it is. (Its
      // entity learns of the new epoch when its own write collides in the journal: that write
      // fails, the entity recovers, and from then on refuses; the window retries meanwhile.)
      for (long seqNr : new long[] {150, 101, 300}) {
        assertThat(saveAsTheWindowDoes(oldLeader, checkpointAt("contested", seqNr), oldEpoch))
            .isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
      }
      assertThat(saveAsTheWindowDoes(newLeader, checkpointAt("contested", 120), taken.epoch())).isNull();
      assertThat(saveAsTheWindowDoes(newLeader, checkpointAt("contested", 110), taken.epoch()))
          .isInstanceOf(FencedException.class).hasMessageContaining("backwards");
      assertThat(saveAsTheWindowDoes(newLeader, checkpointAt("contested", 130), taken.epoch())).isNull();
      assertThat(saveAsTheWindowDoes(oldLeader, checkpointAt("contested", 400), oldEpoch)).isInstanceOf(FencedException.class);

      Optional<Checkpoint> stored = await(newLeader.load());
      assertThat(stored).contains(checkpointAt("contested", 130));
      assertThat(stored.get().epoch()).isEqualTo(taken.epoch());
    } finally {
      oldNode.shutdownTestKit();
      newNode.shutdownTestKit();
    }
  }

  /** Saves, retrying while the store is unavailable as the window does; returns the final error, or null. */
  private static Throwable saveAsTheWindowDoes(StreamCheckpoints record, Checkpoint checkpoint, long epoch) throws Exception {
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        await(record.save(checkpoint, epoch));
        return null;
      } catch (java.util.concurrent.ExecutionException e) {
        if (!(e.getCause() instanceof CheckpointStoreUnavailableException)) return e.getCause();
      }
    }
    throw new AssertionError("the store stayed unavailable");
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
          writer, (ActorRef<StatusReply<Done>> replyTo) -> new CheckpointEntity.Save("{not a token", 5L, 1L, 0L, replyTo),
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
