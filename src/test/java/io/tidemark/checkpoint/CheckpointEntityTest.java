package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The checkpoint entity with its journal in memory; the test kit also checks that every command, event and state serializes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CheckpointEntityTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private final JdbcCheckpointSettings settings =
      JdbcCheckpointSettings.create(
          ConfigFactory.parseString("tidemark.checkpoint.jdbc.snapshot-every = 3")
              .withFallback(testKit.system().settings().config()));
  private final EventSourcedBehaviorTestKit<CheckpointEntity.Command, CheckpointEntity.Event, CheckpointEntity.State> entity =
      EventSourcedBehaviorTestKit.create(testKit.system(), CheckpointEntity.create("orders", settings));

  @BeforeEach
  void clear() {
    entity.clear();
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void startsEmpty() {
    var result = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new);
    assertThat(result.reply().isEmpty()).isTrue();
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void savesTheTokenAndAcknowledgesOnceDurable() {
    var result = entity.<StatusReply<Done>>runCommand(
        replyTo -> new CheckpointEntity.Save("{\"_data\": \"826b\"}", 42L, 1_000L, replyTo));
    assertThat(result.reply().isSuccess()).isTrue();
    CheckpointEntity.TokenSaved saved = result.eventOfType(CheckpointEntity.TokenSaved.class);
    assertThat(saved.tokenJson).isEqualTo("{\"_data\": \"826b\"}");
    assertThat(saved.clusterTime).isEqualTo(42L);
    assertThat(result.state().tokenJson).isEqualTo("{\"_data\": \"826b\"}");
    assertThat(result.state().saves).isEqualTo(1);
  }

  @Test
  void keepsTheNewestCheckpointAcrossRestartsAndSnapshots() {
    for (int i = 1; i <= 7; i++) {
      String token = "{\"_data\": \"" + i + "\"}";
      long time = i;
      entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(token, time, time, replyTo));
    }
    var restarted = entity.restart();
    assertThat(restarted.state().tokenJson).isEqualTo("{\"_data\": \"7\"}");
    assertThat(restarted.state().clusterTime).isEqualTo(7L);
    assertThat(restarted.state().saves).isEqualTo(7);
  }

  @Test
  void aCheckpointAtAnOperationTimeHasNoToken() {
    entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(null, 99L, 5L, replyTo));
    var state = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new).reply();
    var checkpoint = JdbcCheckpointStore.decode("orders", state).orElseThrow();
    assertThat(checkpoint.resumeToken()).isNull();
    assertThat(checkpoint.position().describe()).startsWith("startAtOperationTime");
  }
}
