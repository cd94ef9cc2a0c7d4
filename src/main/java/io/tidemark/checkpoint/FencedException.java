package io.tidemark.checkpoint;

import io.tidemark.TidemarkException;

/**
 * A checkpoint write was refused because another consumer has taken the stream since (its epoch
 * is newer), or because the write would move the checkpoint backwards. The consumer that gets this
 * must stop: it is no longer the stream's only consumer.
 */
public final class FencedException extends TidemarkException {
  private static final long serialVersionUID = 1L;

  public FencedException(String message) {
    super(message);
  }
}
