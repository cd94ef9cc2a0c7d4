package io.tidemark.pipeline;

/** What a pipeline does when one of the user's stages fails. */
public enum FailurePolicy {
  /** Restart from the safe token after a capped backoff; the window replays; restarts are counted. */
  RETRY,
  /** Record the failing event in the dead-letter store, count it, and continue. */
  DEAD_LETTER,
  /** Stop, keeping the checkpoint at the safe token. */
  STOP
}
