package io.tidemark.bench;

/** What the Kafka section's figures say, written after reading them (the numbers above it are regenerated each run). */
final class KafkaAnalysis {
  private KafkaAnalysis() {}

  static final String TEXT = "";
}
