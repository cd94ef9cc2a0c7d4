package io.tidemark.pipeline;

import akka.Done;
import io.tidemark.window.InFlightEvent;
import java.util.List;
import java.util.concurrent.CompletionStage;

/** A running pipeline: stop it gracefully, wait for it, watch it. */
public final class PipelineControl {
  private final String stream;
  private final PipelineRunner runner;
  private final PipelineStats stats;

  PipelineControl(String stream, PipelineRunner runner, PipelineStats stats) {
    this.stream = stream;
    this.runner = runner;
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
    return runner.drainAndStop();
  }

  /**
   * Completes when the pipeline has stopped for good: normally after a drain, exceptionally on a
   * failure its policy does not restart from.
   */
  public CompletionStage<Done> completion() {
    return runner.completion();
  }

  public PipelineStats stats() {
    return stats;
  }

  /** The events in flight now, oldest first: sequence numbers, tokens, keys, whether done, since when. */
  public CompletionStage<List<InFlightEvent>> inFlight() {
    return stats.window().inFlightEvents();
  }
}
