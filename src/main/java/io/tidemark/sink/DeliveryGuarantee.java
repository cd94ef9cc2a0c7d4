package io.tidemark.sink;

/** What the Kafka sink promises about each event's records (see docs/sinks.md). */
public enum DeliveryGuarantee {
  /**
   * An idempotent producer; an event is done once the broker acknowledged its records, so the
   * checkpoint never passes an unacknowledged record. A replay after a crash writes its events again.
   */
  AT_LEAST_ONCE,
  /**
   * A transactional producer per stream; records and the checkpoint commit in one Kafka transaction,
   * and a replayed event whose records committed is not written again. Needs the
   * {@code KafkaCheckpointStore} as the pipeline's checkpoint store.
   */
  EXACTLY_ONCE;

  /** The spelling in configuration: {@code at-least-once}, {@code exactly-once}. */
  public String label() {
    return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
  }
}
