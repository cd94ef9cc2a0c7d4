package io.tidemark.source;

import java.util.Locale;

/** What a stream does when it has no checkpoint yet. */
public enum StartupMode {
  /** Follow the change stream from the configured position, or now. */
  STREAM_ONLY,
  /** Copy the documents that exist, in {@code _id} order, then follow the change stream from before the copy. */
  SNAPSHOT_THEN_STREAM,
  /** Copy the documents that exist, then stop. */
  SNAPSHOT_ONLY;

  /** The config spelling: stream-only, snapshot-then-stream, snapshot-only. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public boolean snapshots() {
    return this != STREAM_ONLY;
  }
}
