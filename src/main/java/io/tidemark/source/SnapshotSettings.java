package io.tidemark.source;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.Objects;

/**
 * How a stream starts when it has no checkpoint ({@link StartupMode}) and how it copies a
 * collection: at start-up, and for the {@code re-snapshot} history-lost policy. From
 * {@code tidemark.pipeline.startup}.
 */
public final class SnapshotSettings {
  public final StartupMode mode;
  /** Documents read per query of the copy. */
  public final int batchSize;
  /** How often the copy logs a progress line. */
  public final Duration progressInterval;

  private SnapshotSettings(StartupMode mode, int batchSize, Duration progressInterval) {
    this.mode = Objects.requireNonNull(mode, "mode");
    if (batchSize < 1) throw new TidemarkException("snapshot batch size must be at least 1, was " + batchSize);
    this.batchSize = batchSize;
    this.progressInterval = Objects.requireNonNull(progressInterval, "progressInterval");
  }

  public static SnapshotSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static SnapshotSettings create(Config config) {
    String p = "tidemark.pipeline.startup.";
    return new SnapshotSettings(
        ConfigCheck.oneOf(config, p + "mode", StartupMode.class, "stream-only, snapshot-then-stream or snapshot-only"),
        ConfigCheck.positiveInt(config, p + "snapshot.batch-size"),
        ConfigCheck.positiveDuration(config, p + "snapshot.progress-interval"));
  }

  public static SnapshotSettings defaults() {
    return new SnapshotSettings(StartupMode.STREAM_ONLY, 1000, Duration.ofSeconds(5));
  }

  public SnapshotSettings withMode(StartupMode mode) {
    return new SnapshotSettings(mode, batchSize, progressInterval);
  }

  public SnapshotSettings withBatchSize(int batchSize) {
    return new SnapshotSettings(mode, batchSize, progressInterval);
  }

  public SnapshotSettings withProgressInterval(Duration interval) {
    return new SnapshotSettings(mode, batchSize, interval);
  }
}
