package io.tidemark.source;

import io.tidemark.TidemarkException;

/** A change event that cannot be tracked; the stream stops before saving past it. */
public final class MalformedEventException extends TidemarkException {
  private static final long serialVersionUID = 1L;

  public MalformedEventException(String message) {
    super(message);
  }
}
