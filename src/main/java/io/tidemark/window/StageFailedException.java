package io.tidemark.window;

import io.tidemark.Errors;

/**
 * A user stage failed. The window saved the safe token before it stopped, so a restart replays
 * at most the events that were in flight.
 */
public final class StageFailedException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public StageFailedException(String stream, Throwable cause) {
    super("stream '" + stream + "': a stage failed: " + Errors.summary(cause), cause);
  }
}
