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
  /** Events asked of the driver's publisher at a time: the source's Akka input buffer (a power of two). */
  public final int demand;

  private SourceSettings(
      int batchSize, Duration maxAwaitTime, Duration restartMinBackoff, Duration restartMaxBackoff, double restartRandomFactor, int demand) {
    this.batchSize = batchSize;
    this.demand = demand;
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
        ConfigCheck.fraction(config, p + "restart-random-factor"),
        demand(config, p + "demand"));
  }

  private static int demand(Config config, String key) {
    int demand = ConfigCheck.positiveInt(config, key);
    if (Integer.bitCount(demand) != 1) {
      throw new io.tidemark.TidemarkException("invalid config key " + key + " = " + demand + ": expected a power of two, such as 256");
    }
    return demand;
  }

  public SourceSettings withBatchSize(int size) {
    if (size < 1) throw new IllegalArgumentException("batch size must be positive, was " + size);
    return new SourceSettings(size, maxAwaitTime, restartMinBackoff, restartMaxBackoff, restartRandomFactor, demand);
  }

  public SourceSettings withRestartBackoff(Duration min, Duration max) {
    return new SourceSettings(batchSize, maxAwaitTime, min, max, restartRandomFactor, demand);
  }

  RestartSettings restartSettings() {
    return RestartSettings.create(restartMinBackoff, restartMaxBackoff, restartRandomFactor);
  }
}
