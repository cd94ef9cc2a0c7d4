package io.tidemark.checkpoint;

import io.tidemark.TidemarkException;

/** A stored checkpoint that cannot be used; the pipeline stops and leaves it as it is. */
public final class CorruptCheckpointException extends TidemarkException {
  private static final long serialVersionUID = 1L;

  public CorruptCheckpointException(String stream, String storedValue, String problem) {
    super(
        "stream '" + stream + "': stored resume token " + abbreviate(storedValue) + " " + problem
            + " (expected a JSON document such as {\"_data\": \"8263...\"}); the checkpoint was left"
            + " untouched: rewind or reset it");
  }

  private static String abbreviate(String value) {
    if (value == null) return "null";
    String quoted = "'" + value + "'";
    return quoted.length() > 120 ? quoted.substring(0, 117) + "...'" : quoted;
  }
}
