package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import org.junit.jupiter.api.Test;

/** A library user's actor system is checked like the service's: a typo in tidemark.* stops run(), naming the key. */
class PipelineSettingsTest {

  @Test
  void runRefusesAnUnknownTidemarkKeyInTheActorSystemsConfig() {
    ActorTestKit testKit = ActorTestKit.create("settings", ConfigFactory.parseString("tidemark.pipeline.windw-size = 3")
        .withFallback(ConfigFactory.load()));
    try {
      assertThatThrownBy(() -> Pipeline.named("typo").mongoUri("mongodb://127.0.0.1:9/").collection("db", "c")
              .checkpoints(InMemoryCheckpointStore.create()).run(testKit.system()))
          .isInstanceOf(TidemarkException.class)
          .hasMessageStartingWith("unknown config key tidemark.pipeline.windw-size")
          .hasMessageEndingWith("did you mean tidemark.pipeline.window-size?");
    } finally {
      testKit.shutdownTestKit();
    }
  }
}
