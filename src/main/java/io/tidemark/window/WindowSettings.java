package io.tidemark.window;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Window size and checkpoint throttle, from {@code tidemark.pipeline}. */
public final class WindowSettings {
  public final int size;
  public final int checkpointEveryEvents;
  public final Duration checkpointEveryInterval;
  public final Duration retryMinBackoff;
  public final Duration retryMaxBackoff;

  private WindowSettings(
      int size, int checkpointEveryEvents, Duration checkpointEveryInterval, Duration retryMinBackoff, Duration retryMaxBackoff) {
    this.size = size;
    this.checkpointEveryEvents = checkpointEveryEvents;
    this.checkpointEveryInterval = checkpointEveryInterval;
    this.retryMinBackoff = retryMinBackoff;
    this.retryMaxBackoff = retryMaxBackoff;
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
        ConfigCheck.positiveDuration(config, p + "checkpoint.retry-max-backoff"));
  }

  public static WindowSettings of(int size, int checkpointEveryEvents, Duration checkpointEveryInterval) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, Duration.ofMillis(100), Duration.ofSeconds(5));
  }

  public WindowSettings withSize(int size) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, retryMinBackoff, retryMaxBackoff);
  }

  public WindowSettings withCheckpointEvery(int events, Duration interval) {
    return new WindowSettings(size, events, interval, retryMinBackoff, retryMaxBackoff);
  }

  public WindowSettings withRetryBackoff(Duration min, Duration max) {
    return new WindowSettings(size, checkpointEveryEvents, checkpointEveryInterval, min, max);
  }

  /** The most events a crash can replay: the window plus the checkpoint throttle. */
  public long replayBound() {
    return (long) size + checkpointEveryEvents;
  }
}
