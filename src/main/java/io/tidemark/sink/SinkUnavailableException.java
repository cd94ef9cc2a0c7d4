package io.tidemark.sink;

/** A sink could not write an event (its database refused or did not answer); the event is not done, and comes again. */
public final class SinkUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public SinkUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
