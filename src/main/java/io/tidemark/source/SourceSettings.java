package io.tidemark.source;

import akka.actor.typed.ActorSystem;
import akka.stream.RestartSettings;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Settings of the change-stream source, from {@code tidemark.pipeline.source}. */
public final class SourceSettings {
  public final int batchSize;
  public final Duration maxAwaitTime;
  public final Duration restartMinBackoff;
  public final Duration restartMaxBackoff;
  public final double restartRandomFactor;

  private SourceSettings(
      int batchSize, Duration maxAwaitTime, Duration restartMinBackoff, Duration restartMaxBackoff, double restartRandomFactor) {
    this.batchSize = batchSize;
    this.maxAwaitTime = maxAwaitTime;
    this.restartMinBackoff = restartMinBackoff;
    this.restartMaxBackoff = restartMaxBackoff;
    this.restartRandomFactor = restartRandomFactor;
  }

  public static SourceSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static SourceSettings create(Config config) {
    String p = "tidemark.pipeline.source.";
    return new SourceSettings(
        ConfigCheck.positiveInt(config, p + "batch-size"),
        ConfigCheck.positiveDuration(config, p + "max-await-time"),
        ConfigCheck.positiveDuration(config, p + "restart-min-backoff"),
        ConfigCheck.positiveDuration(config, p + "restart-max-backoff"),
        ConfigCheck.fraction(config, p + "restart-random-factor"));
  }

  public SourceSettings withBatchSize(int size) {
    if (size < 1) throw new IllegalArgumentException("batch size must be positive, was " + size);
    return new SourceSettings(size, maxAwaitTime, restartMinBackoff, restartMaxBackoff, restartRandomFactor);
  }

  public SourceSettings withRestartBackoff(Duration min, Duration max) {
    return new SourceSettings(batchSize, maxAwaitTime, min, max, restartRandomFactor);
  }

  RestartSettings restartSettings() {
    return RestartSettings.create(restartMinBackoff, restartMaxBackoff, restartRandomFactor);
  }
}
