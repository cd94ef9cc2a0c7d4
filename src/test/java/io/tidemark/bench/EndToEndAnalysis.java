package io.tidemark.bench;

/** What the end-to-end numbers mean; kept next to the code that writes them. */
final class EndToEndAnalysis {
  private EndToEndAnalysis() {}

  static final String TEXT = """
      (analysis pending)
      """;
}
