package io.tidemark.bench;

/** What the failover numbers are made of; kept next to the code that writes them. */
final class FailoverAnalysis {
  private FailoverAnalysis() {}

  static final String TEXT = """
      **Where the time goes.** A crash failover is the failure detector noticing the silence (about 2 s of missed
      heartbeats), the split-brain resolver waiting for 3 s of stable membership before it downs the node, the 1 s
      removal margin and a round of gossip, then the new singleton starting the pipeline: taking an epoch,
      reading the token replica, opening the change stream (well under a second). Only the last part is
      Tidemark's; the rest is the price of not downing a node that is merely slow — see docs/cluster.md for the
      trade-off and the knobs. Duplicates after a crash are the events since the replica's last publication
      (every 200 ms), not since the last durable checkpoint. A graceful handover skips detection and downing:
      the leaving node's consumer drains and saves, the singleton moves when the node has left, and the next
      consumer replays nothing.
      """;
}
