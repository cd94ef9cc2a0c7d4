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
  /** Chunks of a collection copied at a time (C); 1: one cursor in {@code _id} order, not chunked. */
  public final int parallelism;
  /** Documents per chunk aimed at when a collection is split into {@code _id} ranges (at least C chunks). */
  public final long chunkSize;
  /**
   * Where the chunks' batches are copied when not in the consumer (the nodes of a cluster:
   * {@code ShardedCopyWorkers}); null: the consumer reads them and its stages see every document.
   */
  public final ChunkCopier copyWorkers;

  private SnapshotSettings(StartupMode mode, int batchSize, Duration progressInterval, int parallelism, long chunkSize) {
    this(mode, batchSize, progressInterval, parallelism, chunkSize, null);
  }

  private SnapshotSettings(StartupMode mode, int batchSize, Duration progressInterval, int parallelism, long chunkSize, ChunkCopier copyWorkers) {
    this.mode = Objects.requireNonNull(mode, "mode");
    if (batchSize < 1) throw new TidemarkException("snapshot batch size must be at least 1, was " + batchSize);
    if (parallelism < 1) throw new TidemarkException("snapshot parallelism must be at least 1, was " + parallelism);
    if (chunkSize < 1) throw new TidemarkException("snapshot chunk size must be at least 1, was " + chunkSize);
    this.batchSize = batchSize;
    this.progressInterval = Objects.requireNonNull(progressInterval, "progressInterval");
    this.parallelism = parallelism;
    this.chunkSize = chunkSize;
    this.copyWorkers = copyWorkers;
  }

  public static SnapshotSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static SnapshotSettings create(Config config) {
    String p = "tidemark.pipeline.startup.";
    return new SnapshotSettings(
        ConfigCheck.oneOf(config, p + "mode", StartupMode.class, "stream-only, snapshot-then-stream or snapshot-only"),
        ConfigCheck.positiveInt(config, p + "snapshot.batch-size"),
        ConfigCheck.positiveDuration(config, p + "snapshot.progress-interval"),
        ConfigCheck.positiveInt(config, p + "snapshot.parallelism"),
        ConfigCheck.positiveLong(config, p + "snapshot.chunk-size"));
  }

  public static SnapshotSettings defaults() {
    return new SnapshotSettings(StartupMode.STREAM_ONLY, 1000, Duration.ofSeconds(5), 1, 100_000);
  }

  public SnapshotSettings withMode(StartupMode mode) {
    return new SnapshotSettings(mode, batchSize, progressInterval, parallelism, chunkSize, copyWorkers);
  }

  public SnapshotSettings withBatchSize(int batchSize) {
    return new SnapshotSettings(mode, batchSize, progressInterval, parallelism, chunkSize, copyWorkers);
  }

  public SnapshotSettings withProgressInterval(Duration interval) {
    return new SnapshotSettings(mode, batchSize, interval, parallelism, chunkSize, copyWorkers);
  }

  /** Copies up to {@code parallelism} chunks of a collection at a time (1: one cursor, not chunked). */
  public SnapshotSettings withParallelism(int parallelism) {
    return new SnapshotSettings(mode, batchSize, progressInterval, parallelism, chunkSize, copyWorkers);
  }

  /** Aims at {@code chunkSize} documents per chunk when a collection is chunked. */
  public SnapshotSettings withChunkSize(long chunkSize) {
    return new SnapshotSettings(mode, batchSize, progressInterval, parallelism, chunkSize, copyWorkers);
  }

  /**
   * Copies the chunks' batches with {@code workers} (such as {@code ShardedCopyWorkers}, which runs
   * them on the nodes of a cluster, each document through the handler they were given) instead of
   * in the consumer: the copied documents then do <em>not</em> go through the pipeline's own stages,
   * only the change events after the copy do. Null: the consumer copies. See docs/snapshot.md.
   */
  public SnapshotSettings withCopyWorkers(ChunkCopier workers) {
    return new SnapshotSettings(mode, batchSize, progressInterval, parallelism, chunkSize, workers);
  }
}
