package io.tidemark.bench;

/** What the Kafka section's figures say, written after reading them; kept next to the code that writes them. */
final class KafkaAnalysis {
  private KafkaAnalysis() {}

  static final String TEXT = """
      **Reading the ratios.** The bare loop (a) sends records built beforehand: no change stream to read, no
      formatting, no completion to track. It is what the broker takes on this machine, not a pipeline doing the
      same job; (n), the pipeline with no sink, is the ceiling the sink works under here, since the embedded
      MongoDB, the pipeline and the broker share the two cores (and the machine was far busier than two cores
      can be while this ran: the rates scatter by a factor of 2 to 3 from round to round).

      - *At-least-once* (b) runs at about half the rate of the pipeline with no sink (b/n): each event is encoded
        as JSON (about 10 µs), handed to the sending thread, and completed on its acknowledgement, on cores the
        broker needs too.
      - *Exactly-once* costs about 40 % against at-least-once (c/b): an event is done only when its transaction
        commits, and each commit waits for its records and for the coordinator (the bare transactional loop
        needs 5 to 7 s for its 200 commits here), and carries
        the checkpoint record with the position of every key past the checkpoint (about 130 bytes a key, 70 to
        140 KB a commit at these rates). The commits set the pace: a bare transactional producer committing at
        the same cadence (a′) is only a little faster (c/a′ ≈ 0.8). More events per transaction
        (`commit-events`, with a larger window) raise both, at the price of later visibility.
      """;
}
