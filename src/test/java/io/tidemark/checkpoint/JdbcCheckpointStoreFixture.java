package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.StatusReply;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint contract on one JDBC database: each store is in an actor system of its own, as on
 * another node, so that fencing goes through the journal. Every wait comes from
 * {@code tidemark.checkpoint.jdbc.ask-timeout}, set generously here: a loaded machine is slow, not wrong.
 */
abstract class JdbcCheckpointStoreFixture extends CheckpointStoreContract {
  private static final Duration ASK_TIMEOUT = Duration.ofSeconds(10);
  private final List<ActorTestKit> systems = new CopyOnWriteArrayList<>();
  private ActorTestKit adminSystem;

  /** The journal configuration of one database, the same for every actor system of a test. */
  abstract Config journal();

  private Config config() {
    return ConfigFactory.parseString(
            "tidemark.checkpoint.jdbc { ask-timeout = " + ASK_TIMEOUT.toSeconds() + "s, history-size = " + historySize() + " }")
        .withFallback(journal())
        .withFallback(ConfigFactory.load());
  }

  ActorTestKit newSystem() {
    ActorTestKit kit = ActorTestKit.create(getClass().getSimpleName(), config());
    systems.add(kit);
    return kit;
  }

  @AfterAll
  void shutdownSystems() {
    systems.forEach(ActorTestKit::shutdownTestKit);
  }

  @Override
  CheckpointStore newStore() {
    return JdbcCheckpointStore.create(newSystem().system());
  }

  @Override
  int historySize() {
    return 10;
  }

  @Override
  Duration timeout() {
    return JdbcCheckpointSettings.create(config()).askTimeout.multipliedBy(2);
  }

  @Override
  Optional<CheckpointAdmin> admin() {
    if (adminSystem == null) adminSystem = newSystem();
    return Optional.of(new JdbcCheckpointAdmin(adminSystem.system(), ASK_TIMEOUT));
  }

  @Override
  boolean storeCorruptToken(String stream, String raw) throws Exception {
    ActorTestKit kit = newSystem();
    await(JdbcCheckpointStore.create(kit.system()).ready());
    ActorRef<CheckpointEntity.Command> writer = kit.spawn(CheckpointEntity.create(stream, JdbcCheckpointSettings.create(kit.system())));
    StatusReply<Done> written = await(AskPattern.ask(
        writer, (ActorRef<StatusReply<Done>> replyTo) -> new CheckpointEntity.Save(raw, 5L, 1L, 0L, replyTo),
        ASK_TIMEOUT, kit.system().scheduler()));
    assertThat(written.isSuccess()).isTrue();
    kit.stop(writer);
    return true;
  }

  /** The entity recovers from its snapshots, not from 250 events. */
  @Test
  void manySavesRecoverTheNewestThroughSnapshots() throws Exception {
    String busy = stream("busy");
    StreamCheckpoints record = await(newStore().open(busy));
    long epoch = await(record.acquire()).epoch();
    for (long seqNr = 1; seqNr <= 250; seqNr++) await(record.save(checkpointAt(busy, seqNr), epoch));
    await(record.close());
    assertThat(await(await(newStore().open(busy)).load())).contains(checkpointAt(busy, 250));
  }
}
