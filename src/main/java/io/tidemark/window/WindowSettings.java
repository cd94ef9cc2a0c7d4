package io.tidemark.window;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Window size, checkpoint throttle and drain bound, from {@code tidemark.pipeline}. */
public final class WindowSettings {
  public final int size;
  public final int checkpointEveryEvents;
  public final Duration checkpointEveryInterval;
  public final Duration retryMinBackoff;
  public final Duration retryMaxBackoff;
  /** How long the stages may take to finish the work they hold once the run stops admitting events. */
  public final Duration drainTimeout;

  private WindowSettings(
      int size, int checkpointEveryEvents, Duration checkpointEveryInterval, Duration retryMinBackoff, Duration retryMaxBackoff,
      Duration drainTimeout) {
    this.size = size;
    this.checkpointEveryEvents = checkpointEveryEvents;
    this.checkpointEveryInterval = checkpointEveryInterval;
    this.retryMinBackoff = retryMinBackoff;
    this.retryMaxBackoff = retryMaxBackoff;
    this.drainTimeout = drainTimeout;
  }

  public static WindowSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static WindowSettings create(Config config) {
    String p = "tidemark.pipeline.";
    return new WindowSettings(
        ConfigCheck.positiveInt(config, p + "window-size"),
        ConfigCheck.positiveInt(config, p + "checkpoint.every-events"),
        ConfigCheck.positiveDuration(config, p + "checkpoint.every-interval"),
        ConfigCheck.positiveDuration(config, p + "checkpoint.retry-min-backoff"),
        ConfigCheck.positiveDuration(config, p + "checkpoint.retry-max-backoff"),
        ConfigCheck.positiveDuration(config, p + "drain-timeout"));
  }

  public static WindowSettings of(int size, int checkpointEveryEvents, Duration checkpointEveryInterval) {
    return new WindowSettings(
        size, checkpointEveryEvents, checkpointEveryInterval, Duration.ofMillis(100), Duration.ofSeconds(5), Duration.ofSeconds(30));
  }

  public WindowSettings withSize(int size) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, retryMinBackoff, retryMaxBackoff, drainTimeout);
  }

  public WindowSettings withCheckpointEvery(int events, Duration interval) {
    return new WindowSettings(size, events, interval, retryMinBackoff, retryMaxBackoff, drainTimeout);
  }

  public WindowSettings withRetryBackoff(Duration min, Duration max) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, min, max, drainTimeout);
  }

  public WindowSettings withDrainTimeout(Duration timeout) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, retryMinBackoff, retryMaxBackoff, timeout);
  }

  /** The most events a crash can replay: the window plus the checkpoint throttle. */
  public long replayBound() {
    return (long) size + checkpointEveryEvents;
  }
}
