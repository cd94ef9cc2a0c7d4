package io.tidemark.pipeline;

import io.tidemark.TidemarkException;
import java.util.Locale;

/** What a pipeline does when one of the user's stages fails. */
public enum FailurePolicy {
  /** Restart from the safe token after a capped backoff; the window replays; restarts are counted. */
  RETRY,
  /** Record the failing event in the dead-letter store, count it, and continue. */
  DEAD_LETTER,
  /** Stop, keeping the checkpoint at the safe token. */
  STOP;

  public static FailurePolicy parse(String value, String key) {
    try {
      return valueOf(value.trim().toUpperCase(Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw new TidemarkException("invalid config key " + key + " = \"" + value + "\": expected retry, dead-letter or stop");
    }
  }
}
