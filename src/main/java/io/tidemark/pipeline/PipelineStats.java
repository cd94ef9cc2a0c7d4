package io.tidemark.pipeline;

import io.tidemark.source.ResumePosition;
import io.tidemark.window.WindowStats;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/** Live figures of one pipeline, kept across its runs: where it started and its window. */
public final class PipelineStats {
  private final WindowStats window = new WindowStats();
  private final CompletableFuture<ResumePosition> firstStart = new CompletableFuture<>();
  private volatile ResumePosition startedFrom;

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

  public WindowStats window() {
    return window;
  }
}
