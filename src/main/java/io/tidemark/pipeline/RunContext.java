package io.tidemark.pipeline;

import java.util.concurrent.atomic.AtomicReference;

/**
 * What every stage of one pipeline run shares: the stream's name, the failing-stage policy and
 * dead-letter store, the stats, and whether the run is stopping after a failure. Once a stage
 * fails, no stage of the run starts work on another event (the work already started finishes), so
 * the run drains quickly and the next run never overlaps a write of this one.
 */
final class RunContext {
  private final String stream;
  private final FailureSettings failure;
  private final DeadLetterStore deadLetters;
  private final PipelineStats stats;
  private final AtomicReference<Throwable> stopping = new AtomicReference<>();

  RunContext(String stream, FailureSettings failure, DeadLetterStore deadLetters, PipelineStats stats) {
    this.stream = stream;
    this.failure = failure;
    this.deadLetters = deadLetters;
    this.stats = stats;
  }

  /** A run for tests and benchmarks of stages alone: retry on failure, no dead letters. */
  static RunContext of(String stream) {
    return new RunContext(stream, FailureSettings.of(FailurePolicy.RETRY), null, new PipelineStats());
  }

  String stream() {
    return stream;
  }

  FailureSettings failure() {
    return failure;
  }

  DeadLetterStore deadLetters() {
    return deadLetters;
  }

  PipelineStats stats() {
    return stats;
  }

  /** A stage failed: start no new work in this run. */
  void abandon(Throwable cause) {
    stopping.compareAndSet(null, cause);
  }

  boolean abandoning() {
    return stopping.get() != null;
  }
}
