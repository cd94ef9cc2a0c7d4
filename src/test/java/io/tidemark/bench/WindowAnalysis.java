package io.tidemark.bench;

/** What the window benchmark's numbers mean; kept next to the code that writes them. */
final class WindowAnalysis {
  private WindowAnalysis() {}

  static final String TEXT = """
      **Where the time goes.** At P = 1 the window, the completion tracker and the checkpointer cost about 20 ns an
      event with next to no user work and about 100 ns with an encode — a ratio of 0.9 or better, within the 10 %
      target. Per event they add one `EventContext`, the `Pair`s around the user's stages and a boxed sequence
      number (about 90 bytes, the allocation column), and a handful of operator hops, all fused in one actor.

      At P > 1 the target is missed with these near-empty stages: 0.4 to 0.6. The allocation per event is the same
      as at P = 1, so the extra 150 to 550 ns are not garbage but routing: a `Partition` by key hash, a 16-event
      buffer in front of each lane, each lane's own tracker, and a `Merge` of P inputs — more operator hops per
      event, and more lanes to touch as P grows. That is the price of per-key order with concurrency; it buys
      throughput only when the stages wait (a sink's round trip: see `ParallelismIT`, where 8 lanes overlap
      waits of 1–5 ms), and there it is a few hundred nanoseconds against milliseconds. With CPU-bound stages that
      never wait, use P = 1.

      An earlier version put an asynchronous boundary behind every lane: at P = 8 and 64 that cost about 2 µs an
      event (445,000 events/s). The lanes are now fused with the window; a CPU-bound stage can add `.async()`.
      """;
}
