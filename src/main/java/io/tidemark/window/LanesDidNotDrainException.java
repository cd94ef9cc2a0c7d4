package io.tidemark.window;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.List;

/**
 * The user stages did not finish the work they held within the drain timeout after the run began
 * to stop. Their writes may still land; a new run in this process could then write a key before
 * an older write of it lands, so the pipeline stops instead of restarting. The safe token was
 * saved; the events listed are where it stands.
 */
public final class LanesDidNotDrainException extends TidemarkException {
  private static final long serialVersionUID = 1L;

  public LanesDidNotDrainException(String stream, Duration timeout, List<InFlightEvent> stuck, Throwable why) {
    super("stream '" + stream + "': the stages did not finish their work within " + timeout.toSeconds()
        + "s (tidemark.pipeline.drain-timeout) after the run began to stop" + (why == null ? "" : " (" + Errors.summary(why) + ")")
        + "; still in flight: " + stuck + "; stopping rather than restarting, so that no older write lands after a newer one",
        why);
  }
}
