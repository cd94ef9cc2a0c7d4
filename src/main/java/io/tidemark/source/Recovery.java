package io.tidemark.source;

import java.util.concurrent.CompletionStage;

/**
 * How a stream gets past a fault it cannot resume from, when its policy allows: the policy says
 * where to open the stream again, and what the gap is; the gap is logged and counted here, and
 * saved in the checkpoint history in order with the stream's events (so that no checkpoint passes
 * an event still in flight).
 */
@akka.annotation.InternalApi
public interface Recovery {

  /**
   * Where to go on, and the gap to record.
   *
   * @param position where to open the stream
   * @param gapAt the position of the gap checkpoint: where the stream goes on from, or, when it
   *     reopens where it was (an oversize event skipped), that position
   * @param note what was skipped, from where to where, under which policy
   */
  record Recovered(ResumePosition position, ResumePosition gapAt, String note) {}

  /** Whether the policy lets the stream go on after this kind of fault. */
  boolean handles(ResumableErrors.Kind kind);

  /** Decides, logs and counts the gap; fails when it cannot go on. */
  CompletionStage<Recovered> recover(ResumableErrors.Kind kind, Throwable error, ResumePosition lost);
}
