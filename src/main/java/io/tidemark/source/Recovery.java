package io.tidemark.source;

import java.util.concurrent.CompletionStage;

/**
 * How a stream gets past a fault it cannot resume from, when its policy allows: the pipeline
 * records the gap (in the checkpoint history, the log and the counters) and says where to open the
 * stream again.
 */
public interface Recovery {

  /** Whether the policy lets the stream go on after this kind of fault. */
  boolean handles(ResumableErrors.Kind kind);

  /** Records the gap and returns where to reopen; fails when it cannot. */
  CompletionStage<ResumePosition> recover(ResumableErrors.Kind kind, Throwable error, ResumePosition lost);
}
