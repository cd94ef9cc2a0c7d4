package io.tidemark.pipeline;

import io.tidemark.source.ResumePosition;
import io.tidemark.window.WindowStats;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/** Live figures of one pipeline, kept across its runs: where it started and its window. */
public final class PipelineStats {
  private final WindowStats window = new WindowStats();
  private final io.tidemark.source.SnapshotProgress snapshot = new io.tidemark.source.SnapshotProgress();
  private final io.tidemark.source.IncrementalSnapshotProgress incremental = new io.tidemark.source.IncrementalSnapshotProgress();
  private final CompletableFuture<ResumePosition> firstStart = new CompletableFuture<>();
  private volatile ResumePosition startedFrom;
  private final AtomicLong restarts = new AtomicLong();
  private final AtomicLong deadLetters = new AtomicLong();
  private final AtomicLong gaps = new AtomicLong();
  private volatile java.util.function.Supplier<java.util.Map<String, Long>> errors = java.util.Map::of;
  private volatile io.tidemark.source.OplogSample oplog;

  void markStarted(ResumePosition position) {
    startedFrom = position;
    firstStart.complete(position);
  }

  /** Completes when the change stream has opened for the first time, with its position. */
  public CompletionStage<ResumePosition> started() {
    return firstStart;
  }

  /** Where the latest run opened the stream, or null before it has. */
  public ResumePosition startedFrom() {
    return startedFrom;
  }

  void onRestart() {
    restarts.incrementAndGet();
  }

  void onDeadLetter() {
    deadLetters.incrementAndGet();
  }

  void onGap() {
    gaps.incrementAndGet();
  }

  void onOplogSample(io.tidemark.source.OplogSample sample) {
    oplog = sample;
  }

  /** The newest look at the oplog (window, usage, this stream's headroom), or null before the first or without a monitor. */
  public io.tidemark.source.OplogSample oplog() {
    return oplog;
  }

  void errorsFrom(java.util.function.Supplier<java.util.Map<String, Long>> source) {
    errors = source;
  }

  /** Gaps a fault policy recorded (history lost, invalid token, oversize event skipped). */
  public long gaps() {
    return gaps.get();
  }

  /** Failed MongoDB commands of this pipeline's client, by error code (those the driver resumed from too). */
  public java.util.Map<String, Long> errors() {
    return errors.get();
  }

  /** Restarts after a failing stage, under the retry policy. */
  public long restarts() {
    return restarts.get();
  }

  /** Events recorded in the dead-letter store by this pipeline. */
  public long deadLetters() {
    return deadLetters.get();
  }

  /** Snapshots of this pipeline: progress of the copy, and the overlap after it. */
  public io.tidemark.source.SnapshotProgress snapshot() {
    return snapshot;
  }

  /** Incremental snapshots of this pipeline: the request in progress, documents copied, chunks. */
  public io.tidemark.source.IncrementalSnapshotProgress incrementalSnapshot() {
    return incremental;
  }

  public WindowStats window() {
    return window;
  }
}
