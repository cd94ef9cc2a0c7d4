package io.tidemark.bench;

/** What the crash-recovery numbers mean; kept next to the code that writes them. */
final class CrashRecoveryAnalysis {
  private CrashRecoveryAnalysis() {}

  static final String TEXT = """
      **Reading it.** Nothing was lost: every event written was delivered by some run, across all the crashes. A restart
      replays what the killed run had delivered past its last durable checkpoint; that is bounded by how far the window
      lets events run ahead of the last save, N + K, and it reaches the bound only when both terms are full at the kill.
      With the *instant* stage the window is nearly empty, so the replay is mostly the events since the last save: up to
      K = 1,000, and more when saves fall behind — above all the first save of a fresh actor system, which waits for the
      journal's connection and the entity's recovery while events already flow (the larger N, the more can pass before
      it). With the *held* stage and N = 10,000 the window fills behind the slow event and the replay comes close to
      N + K. For N = 100 and 1,000 the window fills too, but the replay stays nearer K than N + K: it reaches the bound
      only when a kill lands with both full. A smaller window does not bound a replay below the throttle;
      `checkpoint.every-events` does. A restart that was itself killed before it finished replaying counts only what it
      delivered, so the maximum is a lower bound of the worst replay, never over it.

      The time to the first event after a restart — a new actor system, the checkpoint entity recovered from H2 and a new
      fencing epoch taken, the stored position checked, the change stream opened and its first batch read — is about a
      third of a second at the median, with a p95 from under half a second to about a second depending on how busy the
      machine is; it does not depend on N.
      """;
}
