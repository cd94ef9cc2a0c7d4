package io.tidemark.checkpoint;

/** The checkpoint store did not answer in time or refused a write; retrying may help. */
public final class CheckpointStoreUnavailableException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CheckpointStoreUnavailableException(String message, Throwable cause) {
    super(message, cause);
  }
}
