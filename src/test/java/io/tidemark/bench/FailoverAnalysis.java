package io.tidemark.bench;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.ToLongFunction;

/** The failover section of docs/benchmarks.md: the measured tables, and what the numbers are made of. */
final class FailoverAnalysis {
  private FailoverAnalysis() {}

  static String section(int runs, Map<String, List<FailoverBenchmark.Run>> results, FailoverBenchmark.Soak before,
      FailoverBenchmark.Soak now, List<FailoverBenchmark.Stall> stallsBefore, List<FailoverBenchmark.Stall> stallsNow,
      String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## Failover on a three-node cluster\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=failover [-Dbench.failover.runs=5 -Dbench.failover.soak.seconds=90]`.\n");
    md.append("`FailoverHarness`: three actor systems in one JVM on loopback ports, the stream in a cluster singleton with the token\n");
    md.append("replica, checkpoints on one H2 database, a writer inserting an order every 5 ms. *Crash*: the node running the stream\n");
    md.append("is terminated without leaving (no drain, no flush); *graceful*: it leaves the cluster. *Now*: the cluster timings of\n");
    md.append("`conf/cluster.conf`; *before*: the timings they replaced (heartbeat every 1 s, 2 s acceptable pause, unreachable\n");
    md.append("reaped every 1 s, SBR `stable-after` 3 s, `down-removal-margin` 1 s, gossip and leader actions every 500 ms), run\n");
    md.append("in the same benchmark, interleaved run by run. Each phase is the time from the kill (or the leave) to the first\n");
    md.append("surviving node seeing it; *first event* is the failover time. Targets: crash failover ≤ 5 s, graceful handover ≤ 1 s\n");
    md.append("(medians). " + conditions + "\n\n");
    md.append(String.format(Locale.ROOT, "Medians of %d runs each, in ms from the kill or the leave (each column's own median):%n%n", runs));
    md.append("| failover | unreachable (crash) / exiting (graceful) | downed | removed | new consumer starts | epoch taken | **first event** (min–max) | duplicates (max) |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    phaseRows(md, results);
    md.append("\n![failover and handover times, before and now](img/failover.svg)\n\n");
    md.append("Every run, first event in ms:\n\n| run | crash, before | crash, now | graceful, before | graceful, now |\n|---|---|---|---|---|\n");
    for (int i = 0; i < runs; i++) {
      md.append(String.format(Locale.ROOT, "| %d | %,d | %,d | %,d | %,d |%n", i + 1,
          results.get("crash/before").get(i).firstEvent(), results.get("crash/now").get(i).firstEvent(),
          results.get("graceful/before").get(i).firstEvent(), results.get("graceful/now").get(i).firstEvent()));
    }
    md.append("\n**False downings under load.** The same three nodes, no kill, for the time given, with a busy loop (allocating\n");
    md.append("1 KiB arrays) on every core in the nodes' JVM and an order written every millisecond, on the machine shared with\n");
    md.append("other builds. Counted: each time a node found another unreachable, reachable again, and the members downed.\n\n");
    md.append("| timings | duration | load average (start → end) | orders written | found unreachable | reachable again | **members downed** |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    md.append(soakRow("before", before)).append(soakRow("**now**", now));
    md.append("\n**How long a pause a node survives.** One node (not the one running the stream) stops answering for the time\n");
    md.append("given — every thread of its internal dispatcher, where the cluster's heartbeats are handled, held — then\n");
    md.append("runs on; 8 s later, what the other two had done:\n\n");
    md.append("| pause | before | **now** |\n|---|---|---|\n");
    for (int i = 0; i < stallsBefore.size(); i++) {
      md.append(String.format(Locale.ROOT, "| %,.1f s | %s | %s |%n", stallsBefore.get(i).millis() / 1000.0,
          verdict(stallsBefore.get(i)), verdict(stallsNow.get(i))));
    }
    md.append("\n").append(TEXT);
    return md.toString();
  }

  static String shardedSection(int runs, Map<String, List<FailoverBenchmark.Run>> results, String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## Failover of a sharded stream (`tidemark run`)\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=failover-shards [-Dbench.failover.runs=5]`. As\n");
    md.append("[the singleton's failover](#failover-on-a-three-node-cluster), with the stream's consumer started by `StreamShards` (an Akka\n");
    md.append("sharded daemon process, as `tidemark run` starts its streams) instead of a cluster singleton. *Before* adds Akka's\n");
    md.append("sharding defaults to the old timings: the daemon process's keep-alive every 10 s (a consumer whose shard moved\n");
    md.append("starts on its next ping) and the regions' retry interval of 2 s, without waking moved streams\n");
    md.append("(`tidemark.cluster.wake-moved-streams = off`). " + conditions + "\n\n");
    md.append(String.format(Locale.ROOT, "Medians of %d runs each, in ms from the kill or the leave:%n%n", runs));
    md.append("| failover | unreachable (crash) / exiting (graceful) | downed | removed | new consumer starts | epoch taken | **first event** (min–max) | duplicates (max) |\n");
    md.append("|---|---|---|---|---|---|---|---|\n");
    phaseRows(md, results);
    md.append("\n![a sharded stream's failover and handover times, before and now](img/failover-shards.svg)\n\n");
    md.append(SHARDED_TEXT);
    return md.toString();
  }

  static final String SHARDED_TEXT = """
      **Where the time goes.** The same chain as the singleton's up to the removal; then the crashed node's shard is
      deallocated, and Akka starts the consumer elsewhere only when a message reaches it: the sharded daemon
      process's keep-alive ping, every `akka.cluster.sharded-daemon-process.keep-alive-interval`, from a singleton on
      the oldest node. At Akka's 10 s that wait dominated. Now `conf/cluster.conf` pings every second, and each node
      asks for every stream as soon as it sees a member leave, exit, be downed or be removed
      (`tidemark.cluster.wake-moved-streams`): a crashed node's stream starts a few hundred ms after its removal, and
      a leaving node's as soon as its shard is handed off, instead of at the next ping. What is left of a graceful
      handover after the leaving node's drain is mostly the regions finding the shard's new home (and, when the
      coordinator's node is the one leaving, registering with its successor): they retry every
      `akka.cluster.sharding.retry-interval`, 100 ms in `conf/cluster.conf` (with 500 ms, in a run of this
      benchmark the same day at load 4.1 to 1.5, the graceful handover took 1.10 s at the median).
      """;

  private static void phaseRows(StringBuilder md, Map<String, List<FailoverBenchmark.Run>> results) {
    for (Map.Entry<String, List<FailoverBenchmark.Run>> entry : results.entrySet()) {
      List<FailoverBenchmark.Run> list = entry.getValue();
      String name = (entry.getKey().startsWith("crash") ? "crash" : "graceful") + ", " + (entry.getKey().endsWith("before") ? "before" : "**now**");
      md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s | %s | **%,d** (%,d–%,d) | %d |%n", name,
          cell(list, FailoverBenchmark.Run::unreachable), cell(list, FailoverBenchmark.Run::downed),
          cell(list, FailoverBenchmark.Run::removed), cell(list, FailoverBenchmark.Run::started),
          cell(list, FailoverBenchmark.Run::epochTaken),
          median(list, FailoverBenchmark.Run::firstEvent), min(list, FailoverBenchmark.Run::firstEvent),
          max(list, FailoverBenchmark.Run::firstEvent), max(list, FailoverBenchmark.Run::duplicates)));
    }
  }

  private static String verdict(FailoverBenchmark.Stall stall) {
    return stall.downed() ? "**downed**" : stall.unreachable() ? "unreachable, then reachable again" : "not noticed";
  }

  private static String soakRow(String name, FailoverBenchmark.Soak soak) {
    return String.format(Locale.ROOT, "| %s | %d s | %.1f → %.1f | %,d | %d | %d | **%d** |%n", name, soak.seconds(),
        soak.loadBefore(), soak.loadAfter(), soak.events(), soak.unreachable(), soak.reachableAgain(), soak.downed());
  }

  /** The median of the runs in which the phase was seen; a dash when it was seen in none. */
  private static String cell(List<FailoverBenchmark.Run> runs, ToLongFunction<FailoverBenchmark.Run> phase) {
    long[] seen = runs.stream().mapToLong(phase).filter(value -> value >= 0).sorted().toArray();
    if (seen.length == 0) return "–";
    return String.format(Locale.ROOT, "%,d", seen[seen.length / 2]);
  }

  private static long median(List<FailoverBenchmark.Run> runs, ToLongFunction<FailoverBenchmark.Run> phase) {
    long[] sorted = runs.stream().mapToLong(phase).sorted().toArray();
    return sorted[sorted.length / 2];
  }

  private static long min(List<FailoverBenchmark.Run> runs, ToLongFunction<FailoverBenchmark.Run> phase) {
    return runs.stream().mapToLong(phase).min().orElse(0);
  }

  private static long max(List<FailoverBenchmark.Run> runs, ToLongFunction<FailoverBenchmark.Run> phase) {
    return runs.stream().mapToLong(phase).max().orElse(0);
  }

  static final String TEXT = """
      **Where the time goes.** A crash failover is a chain: the failure detector noticing the silence (heartbeat
      interval + acceptable pause + the phi margin, then the reaper's next pass), the split-brain resolver waiting
      `stable-after` of unchanged reachability and acting on its next tick (it ticks once a second, a fixed
      interval: 0–1 s more), the leader removing the downed node once the survivors agree (a round of gossip and of
      leader actions), the singleton waiting `down-removal-margin` after the removal, and the new consumer starting:
      taking an epoch (the checkpoint entity recovering from the journal: most of this part), reading the token
      replica, opening the change stream. The new timings cut the first four links; the consumer's own start is
      unchanged. Duplicates after a crash are the events since the replica's last publication (every 200 ms), not
      since the last durable checkpoint. A graceful handover skips detection and downing: the leaving node's
      consumer drains and saves, the singleton moves as soon as the leader has marked the node exiting (before it
      is removed), and the next consumer replays nothing.

      **What the speed costs.** A node is downed when it has not answered for somewhere between 2.5 and 3.5 s
      (before: between 5 and 8 s), and must then be restarted; the fencing epochs keep even a wrongly downed node from writing over its successor.
      Under the load of this shared machine no heartbeat was late enough to matter. Where pauses of seconds are
      expected (large heaps, tight CPU limits, a noisy network), raise `acceptable-heartbeat-pause` and
      `stable-after`: each second added to either adds about a second to a crash failover (docs/cluster.md).
      """;

}
