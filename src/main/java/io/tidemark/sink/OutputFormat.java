package io.tidemark.sink;

/** How a change event becomes the value of a Kafka record (the key is always the documentKey as JSON). */
public enum OutputFormat {
  /** The change event as the server sent it, as relaxed extended JSON; a delete may be followed by a tombstone. */
  CHANGE_EVENT,
  /**
   * The full document only (inserts, replacements, updates with {@code fullDocument}); a delete is a
   * tombstone (or nothing, with tombstones off). An update without a full document writes nothing.
   */
  DOCUMENT,
  /**
   * Debezium's MongoDB envelope: {@code before}, {@code after}, {@code updateDescription},
   * {@code source}, {@code op}, {@code ts_ms} ({@link DebeziumEnvelope}); a delete may be followed by a tombstone.
   */
  DEBEZIUM;

  /** The spelling in configuration: {@code change-event}, {@code document}, {@code debezium}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
