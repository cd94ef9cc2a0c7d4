package io.tidemark.bench;

/** What the end-to-end numbers mean; kept next to the code that writes them. */
final class EndToEndAnalysis {
  private EndToEndAnalysis() {}

  static final String TEXT = """
      **Where the time goes.** The target b/a ≥ 0.95 is missed on this machine. Here the embedded MongoDB runs in the same
      JVM and shares the two cores with the reader, so every consumer's rate is set by the CPU it spends per event, the
      server's included — about half of the samples in both profiles are the server encoding change events
      (`BsonEncoder`, `Document.cloneDeeply`, `HashMap` lookups) — and each step from (a) to (b) adds some (the
      figures are the CPU column's steps, over several runs of this benchmark):

      - *Akka Streams and Alpakka's source* (a → a′): about 1 µs of CPU an event: the driver's elements cross into
        a stream and pass a couple of operators.
      - *Tidemark's stages* (a′ → b′): 1 to 2 µs an event: the source wraps each event in a `ChangeEnvelope` and
        merges the heartbeat probe, the window admits and tracks it, the lane's completion tracker and the
        `FlowWithContext` pairs carry its context back. (The window and checkpointer alone cost about 20 ns an event:
        see the window section; the rest is the source and the objects per event.)
      - *Durable checkpoints in H2* (b′ → b): the largest step in CPU, 3 to 4.5 µs an event. There is only one save per
        1,000 events, but each costs the process milliseconds of CPU (the checkpoint section measures it: the entity,
        Jackson, akka-persistence-jdbc, Slick, and H2 writing and compacting its file in the same process), taken from
        the reader and the server on two shared cores. The pipeline does not wait for the saves (one is outstanding
        at a time, and the window lets events run N + K past the last one); it pays for their CPU.

      So the gap is shared between the stream (Akka and Tidemark's stages, about 3 µs an event together) and the durable
      checkpoint, whose cost is a matter of how often: `checkpoint.every-events = 10000` makes a tenth of the saves (a
      crash then replays up to N + 10,000), and a save to PostgreSQL costs this process less CPU than one to H2. The
      figures here are a 2-core machine with the server inside the process; with MongoDB on its own machine the
      server's half of the CPU leaves this process, and the ratio is the consumers' own CPU per event — (a) the
      driver's decoding, (b) that plus the steps above — which this set-up cannot measure apart.

      (c) is bound by its sink, not by Tidemark: eight lanes each wait for one event at a time, and the "1 ms" timer
      takes longer on a loaded machine (the mean is measured and shown above); (c) reaches most of what eight lanes of
      that sink allow.
      """;
}
