package io.tidemark;

/**
 * A failure that a person must act on: bad configuration, a wrong URI, an unreachable server,
 * a corrupt stored checkpoint. Its message is one line that names what was wrong and what was
 * expected; retrying does not help, so the pipeline stops instead of restarting.
 */
public class TidemarkException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public TidemarkException(String message) {
    super(message);
  }

  public TidemarkException(String message, Throwable cause) {
    super(message, cause);
  }
}
