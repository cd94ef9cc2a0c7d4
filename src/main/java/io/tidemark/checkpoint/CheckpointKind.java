package io.tidemark.checkpoint;

import java.util.Locale;

/** Why a checkpoint was written: it is what the checkpoint history shows. */
public enum CheckpointKind {
  /** The safe token after processed events. */
  EVENT,
  /** A quiet stream's postBatchResumeToken, so that its position does not age out of the oplog. */
  HEARTBEAT,
  /** The position a stream started at, before its first event. */
  START,
  /**
   * A snapshot in progress: the operation time it started at and the last {@code _id} copied
   * before which every document is done; a restart copies on from there.
   */
  SNAPSHOT,
  /** A fault policy moved the position on: events in between were skipped, and the note says which. */
  GAP,
  /** The collection was dropped or renamed: the stream ended at this invalidate event. */
  INVALIDATE,
  /** Someone moved the checkpoint back (or to a given time) by hand. */
  REWIND,
  /** Someone cleared the checkpoint by hand: the next run starts at its configured position, or now. */
  RESET,
  /**
   * A signal was acted on at this position (the stream's own, as the event before it): an incremental
   * snapshot request started, went on after a restart, was paused, resumed or stopped, or was done;
   * the note says which.
   */
  SIGNAL;

  public String label() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static CheckpointKind parse(String label) {
    return label == null ? EVENT : valueOf(label.toUpperCase(Locale.ROOT));
  }
}
