package io.tidemark.pipeline;

import akka.Done;
import akka.stream.UniqueKillSwitch;
import java.util.concurrent.CompletionStage;

/** A running pipeline: stop it gracefully, wait for it, watch it. */
public final class PipelineControl {
  private final String stream;
  private final UniqueKillSwitch intake;
  private final CompletionStage<Done> completion;
  private final PipelineStats stats;

  PipelineControl(String stream, UniqueKillSwitch intake, CompletionStage<Done> completion, PipelineStats stats) {
    this.stream = stream;
    this.intake = intake;
    this.completion = completion;
    this.stats = stats;
  }

  public String stream() {
    return stream;
  }

  /**
   * Stops reading new events, lets the events in flight finish, saves the safe token, and
   * completes when all of that is done.
   */
  public CompletionStage<Done> drainAndStop() {
    intake.shutdown();
    return completion;
  }

  /** Completes when the pipeline has stopped: normally after a drain, exceptionally on a failure. */
  public CompletionStage<Done> completion() {
    return completion;
  }

  public PipelineStats stats() {
    return stats;
  }
}
