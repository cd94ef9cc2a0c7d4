package io.tidemark.pipeline;

import io.tidemark.TidemarkException;

/**
 * A user stage broke the rule the pipeline depends on to know when an event is done (one element
 * out per element in, in order, context passed through). A person must change the stage, so the
 * pipeline stops instead of retrying; the checkpoint stays before the event that showed it.
 */
public final class StageContractException extends TidemarkException {
  private static final long serialVersionUID = 1L;

  public StageContractException(String message) {
    super(message);
  }
}
