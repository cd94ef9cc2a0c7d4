package io.tidemark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.connection.MongoSettings;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class ConfigCheckTest {
  private static Config with(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void theDefaultsAreValid() {
    Config config = ConfigCheck.validated(ConfigFactory.defaultReference());
    WindowSettings window = WindowSettings.create(config);
    assertThat(window.size).isEqualTo(1000);
    assertThat(window.checkpointEveryEvents).isEqualTo(1000);
    assertThat(window.checkpointEveryInterval).isEqualTo(Duration.ofSeconds(1));
    assertThat(MongoSettings.create(config).connectTimeout).isEqualTo(Duration.ofSeconds(10));
  }

  @Test
  void anUnknownKeyIsRefusedWithTheClosestKnownOne() {
    assertThatThrownBy(() -> ConfigCheck.validated(with("tidemark.pipeline.windowsize = 5")))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith("unknown config key tidemark.pipeline.windowsize")
        .hasMessageEndingWith("did you mean tidemark.pipeline.window-size?");
  }

  @Test
  void aTypoInASystemPropertyIsRefusedToo() {
    System.setProperty("tidemark.pipeline.windw-size", "5");
    try {
      ConfigFactory.invalidateCaches();
      assertThatThrownBy(() -> ConfigCheck.validated(ConfigFactory.load()))
          .isInstanceOf(TidemarkException.class)
          .hasMessageStartingWith("unknown config key tidemark.pipeline.windw-size (system properties)")
          .hasMessageEndingWith("did you mean tidemark.pipeline.window-size?");
    } finally {
      System.clearProperty("tidemark.pipeline.windw-size");
      ConfigFactory.invalidateCaches();
    }
  }

  @Test
  void aValueOfTheWrongTypeNamesKeyValueAndExpectedForm() {
    assertThatThrownBy(() -> WindowSettings.create(with("tidemark.pipeline.window-size = lots")))
        .hasMessageStartingWith("invalid config key tidemark.pipeline.window-size = \"lots\"")
        .hasMessageEndingWith("expected a positive integer");
    assertThatThrownBy(() -> WindowSettings.create(with("tidemark.pipeline.window-size = 0")))
        .hasMessageEndingWith("expected a positive integer");
    assertThatThrownBy(() -> WindowSettings.create(with("tidemark.pipeline.checkpoint.every-interval = soon")))
        .hasMessageEndingWith("expected a positive duration such as 500ms or 10s");
  }

  @Test
  void theProgressLinesCanBeTurnedOff() {
    io.tidemark.service.DemoSettings quiet = io.tidemark.service.DemoSettings.create(
        with("tidemark.demo { progress-interval = 0s, standby-progress = off }"));
    assertThat(quiet.progressInterval).isZero();
    assertThat(quiet.standbyProgress).isFalse();
    assertThat(io.tidemark.service.DemoSettings.create(with("")).standbyProgress).isTrue();
  }

  @Test
  void aChoiceOutsideItsListNamesTheKeyTheValueAndTheChoices() {
    assertThatThrownBy(() -> io.tidemark.pipeline.FailureSettings.create(with("tidemark.pipeline.on-failure.policy = ignore")))
        .hasMessage("invalid config key tidemark.pipeline.on-failure.policy = \"ignore\" (String: 1): expected retry, dead-letter or stop");
    assertThatThrownBy(() -> io.tidemark.source.FaultSettings.create(with("tidemark.pipeline.faults.on-oversize-event = drop")))
        .hasMessage("invalid config key tidemark.pipeline.faults.on-oversize-event = \"drop\" (String: 1): expected fail, skip or split");
    assertThatThrownBy(() -> io.tidemark.service.DemoSettings.create(with("tidemark.demo.checkpoint-store = memcached")))
        .hasMessage("invalid config key tidemark.demo.checkpoint-store = \"memcached\" (String: 1): expected jdbc, sql, mongodb or redis");
    assertThat(io.tidemark.service.DemoSettings.create(with("tidemark.demo.checkpoint-store = mongodb")).checkpointStore)
        .isEqualTo(io.tidemark.service.ServiceSettings.CheckpointStoreKind.MONGODB);
    assertThat(io.tidemark.pipeline.FailureSettings.create(with("tidemark.pipeline.on-failure.policy = dead-letter")).policy)
        .isEqualTo(io.tidemark.pipeline.FailurePolicy.DEAD_LETTER);
  }

  @Test
  void aMissingKeyIsNamed() {
    Config without = ConfigFactory.defaultReference().withoutPath("tidemark.pipeline.window-size");
    assertThatThrownBy(() -> WindowSettings.create(without))
        .hasMessage("missing config key tidemark.pipeline.window-size: expected a positive integer");
  }

  @Test
  void aMalformedMongoUriIsRefusedWithoutShowingItsPassword() {
    assertThatThrownBy(() -> MongoSettings.create(with("tidemark.mongodb.uri = \"mongo://u:pw@host\"")))
        .hasMessageStartingWith("malformed MongoDB URI 'mongo://u:***@host'")
        .hasMessageContaining("expected mongodb://")
        .hasMessageNotContaining("pw");
    assertThatThrownBy(() -> MongoSettings.create(with("tidemark.mongodb.uri = \"mongodb://u:secret@\"")))
        .hasMessageStartingWith("malformed MongoDB URI 'mongodb://u:***@'")
        .hasMessageNotContaining("secret");
  }
}
