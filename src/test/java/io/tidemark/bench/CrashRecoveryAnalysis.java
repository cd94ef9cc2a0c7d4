package io.tidemark.bench;

/** What the crash-recovery numbers mean; kept next to the code that writes them. */
final class CrashRecoveryAnalysis {
  private CrashRecoveryAnalysis() {}

  static final String TEXT = """
      (analysis pending)
      """;
}
