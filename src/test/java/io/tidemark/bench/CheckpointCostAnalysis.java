package io.tidemark.bench;

/** What the checkpoint-cost numbers mean; kept next to the code that writes them. */
final class CheckpointCostAnalysis {
  private CheckpointCostAnalysis() {}

  static final String TEXT = """
      (analysis pending)
      """;
}
