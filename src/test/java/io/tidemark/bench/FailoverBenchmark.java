package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.cluster.FailoverHarness;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToLongFunction;

/**
 * Crash failover and graceful handover on three nodes, under the cluster timings of
 * {@code conf/cluster.conf} and, in the same run, under the timings they replaced; each failover
 * broken into its phases (from what the surviving nodes observed). Then false downings: the three
 * nodes under load (a CPU burner on every core and the writer at full speed) with no kill, counting
 * the members found unreachable and downed; and one node stalled for a while, to find how long a
 * pause each setting survives.
 */
final class FailoverBenchmark {
  private FailoverBenchmark() {}

  /** The cluster timings before issue 20 (d): the baseline. */
  static final Config BEFORE = ConfigFactory.parseString("""
      akka.cluster {
        failure-detector { heartbeat-interval = 1s, acceptable-heartbeat-pause = 2s, threshold = 8.0 }
        unreachable-nodes-reaper-interval = 1s
        split-brain-resolver.stable-after = 3s
        down-removal-margin = 1s
        gossip-interval = 500ms
        leader-actions-interval = 500ms
      }
      """);

  /** For streams in a sharded daemon process, also Akka's sharding defaults, which conf/cluster.conf now shortens, and no waking of moved streams. */
  static final Config BEFORE_SHARDED = ConfigFactory.parseString("""
      akka.cluster.sharded-daemon-process.keep-alive-interval = 10s
      akka.cluster.sharding.retry-interval = 2s
      tidemark.cluster.wake-moved-streams = off
      """).withFallback(BEFORE);

  /** The timings under test: conf/cluster.conf as it is. */
  static final Config NOW = ConfigFactory.empty();

  /**
   * One failover, in milliseconds from the kill (or the leave): first seen unreachable (crash) or
   * exiting (graceful) by a surviving node, downed, removed, the new consumer starting, its epoch
   * taken, its first event; -1 where a phase does not apply.
   */
  record Run(long unreachable, long downed, long removed, long started, long epochTaken, long firstEvent, long duplicates) {}

  /** A node stalled for {@code millis}: whether the others found it unreachable, and whether they downed it. */
  record Stall(long millis, boolean unreachable, boolean downed) {}

  /** The stalls tried, in ms: around the silence each setting tolerates before it downs a node. */
  static final List<Long> STALLS = List.of(1_500L, 2_500L, 3_500L, 5_000L, 8_000L);

  /** What the cluster did under load, without a kill. */
  record Soak(int seconds, long unreachable, long reachableAgain, long downed, double loadBefore, double loadAfter, long events) {}

  static void run(int runs, int soakSeconds) throws Exception {
    System.out.println("== failover: " + runs + " crashes and " + runs + " graceful handovers on a 3-node cluster, before and now;"
        + " then " + soakSeconds + " s under load, before and now");
    double loadBefore = Report.loadAverage();
    Map<String, List<Run>> results = new java.util.LinkedHashMap<>();
    for (String key : List.of("crash/before", "crash/now", "graceful/before", "graceful/now")) results.put(key, new ArrayList<>());
    for (int i = 1; i <= runs; i++) {
      // Interleaved, so that a busy minute on the shared machine falls on both settings alike.
      for (String key : results.keySet()) {
        boolean crash = key.startsWith("crash");
        Run run = failover(crash, key.endsWith("before") ? BEFORE : NOW);
        results.get(key).add(run);
        System.out.printf(Locale.ROOT, "run %d, %s: %s%n", i, key, run);
      }
    }
    double loadAfter = Report.loadAverage();
    Soak soakBefore = soak(BEFORE, soakSeconds);
    System.out.println("soak, before: " + soakBefore);
    Soak soakNow = soak(NOW, soakSeconds);
    System.out.println("soak, now: " + soakNow);
    List<Stall> stallsBefore = new ArrayList<>();
    List<Stall> stallsNow = new ArrayList<>();
    for (long millis : STALLS) {
      stallsBefore.add(stall(BEFORE, millis));
      stallsNow.add(stall(NOW, millis));
      System.out.println("stall, before: " + stallsBefore.get(stallsBefore.size() - 1) + "; now: " + stallsNow.get(stallsNow.size() - 1));
    }
    String md = FailoverAnalysis.section(runs, results, soakBefore, soakNow, stallsBefore, stallsNow,
        Report.conditions(loadBefore, loadAfter));
    Report.barChart("failover.svg", "Kill or leave to the first event on the new node, median of " + runs + " (lower is better)", "ms",
        firstEventBars(results));
    Report.writeSection("failover", md);
    System.out.println(md);
  }

  /**
   * Crash failover and graceful handover of a stream run by {@code StreamShards} (a sharded daemon
   * process, as {@code tidemark run} runs its streams), before and now; its own section.
   */
  static void runSharded(int runs) throws Exception {
    System.out.println("== failover-shards: " + runs + " crashes and " + runs + " graceful handovers of a sharded stream, before and now");
    double loadBefore = Report.loadAverage();
    Map<String, List<Run>> results = new java.util.LinkedHashMap<>();
    for (String key : List.of("crash/before", "crash/now", "graceful/before", "graceful/now")) results.put(key, new ArrayList<>());
    for (int i = 1; i <= runs; i++) {
      for (String key : results.keySet()) {
        Run run = failover(key.startsWith("crash"), key.endsWith("before") ? BEFORE_SHARDED : NOW, true);
        results.get(key).add(run);
        System.out.printf(Locale.ROOT, "run %d, %s: %s%n", i, key, run);
      }
    }
    String md = FailoverAnalysis.shardedSection(runs, results, Report.conditions(loadBefore, Report.loadAverage()));
    Report.barChart("failover-shards.svg", "A sharded stream: kill or leave to the first event on the new node, median of " + runs
        + " (lower is better)", "ms", firstEventBars(results));
    Report.writeSection("failover-shards", md);
    System.out.println(md);
  }

  /** One bar per failover kind and timings: the median time to the first event, with the fastest and slowest run. */
  private static List<Report.Bar> firstEventBars(Map<String, List<Run>> results) {
    List<Report.Bar> bars = new ArrayList<>();
    for (Map.Entry<String, List<Run>> entry : results.entrySet()) {
      List<Long> firsts = entry.getValue().stream().map(Run::firstEvent).sorted().toList();
      String label = (entry.getKey().startsWith("crash") ? "crash failover" : "graceful handover")
          + (entry.getKey().endsWith("before") ? ", before" : ", now");
      bars.add(new Report.Bar(label, median(firsts), entry.getKey().endsWith("before") ? "before" : "now",
          firsts.get(0), firsts.get(firsts.size() - 1)));
    }
    return bars;
  }

  static Run failover(boolean crash, Config timings) throws Exception {
    return failover(crash, timings, false);
  }

  static Run failover(boolean crash, Config timings, boolean sharded) throws Exception {
    try (FailoverHarness cluster = new FailoverHarness(timings, sharded)) {
      ActorSystem<Void> host = cluster.host(Duration.ofSeconds(30));
      cluster.startWriting(5);
      cluster.awaitAllDelivered(200, Duration.ofSeconds(30));
      long at = crash ? cluster.crash(host) : cluster.leave(host);
      Await.until(Duration.ofSeconds(60), () -> cluster.firstDeliveryAfter(at, host).isPresent(), () -> "an event on the new node");
      long first = cluster.firstDeliveryAfter(at, host).orElseThrow().nanos();
      long written = cluster.stopWriting();
      cluster.awaitAllDelivered(written, Duration.ofSeconds(60));
      ToLongFunction<java.util.Optional<Long>> since = seen -> seen.map(nanos -> millis(nanos - at)).orElse(-1L);
      return new Run(
          since.applyAsLong(cluster.firstObserved(crash ? "unreachable" : "exited", host, at)),
          crash ? since.applyAsLong(cluster.firstObserved("downed", host, at)) : -1,
          // A leaving node hands the singleton over before it is removed: its removal is off the path.
          crash ? since.applyAsLong(cluster.firstObserved("removed", host, at)) : -1,
          since.applyAsLong(cluster.firstStartAfter(at, host)),
          since.applyAsLong(cluster.firstAcquireAfter(at, host)),
          millis(first - at),
          cluster.duplicates());
    }
  }

  /**
   * The three nodes, no kill, for {@code seconds}, with a busy loop (allocating, for the garbage
   * collector too) on every core and an order written every millisecond: how often a member is
   * found unreachable, and downed, when nothing failed.
   */
  static Soak soak(Config timings, int seconds) throws Exception {
    try (FailoverHarness cluster = new FailoverHarness(timings)) {
      cluster.host(Duration.ofSeconds(30));
      long from = System.nanoTime();
      double loadBefore = Report.loadAverage();
      AtomicBoolean burning = new AtomicBoolean(true);
      List<Thread> burners = new ArrayList<>();
      for (int i = 0; i < Runtime.getRuntime().availableProcessors(); i++) {
        Thread burner = new Thread(() -> {
          while (burning.get()) {
            byte[] garbage = new byte[1024];
            burned += garbage.length;
          }
        }, "cpu-burner-" + i);
        burner.setDaemon(true);
        burner.start();
        burners.add(burner);
      }
      cluster.startWriting(1);
      long until = from + TimeUnit.SECONDS.toNanos(seconds);
      Await.until(Duration.ofSeconds(seconds + 30), () -> System.nanoTime() >= until, () -> "the end of the soak");
      burning.set(false);
      for (Thread burner : burners) burner.join();
      long written = cluster.stopWriting();
      double loadAfter = Report.loadAverage();
      List<FailoverHarness.Observation> seen = cluster.observations().stream().filter(o -> o.nanos() > from).toList();
      return new Soak(seconds,
          seen.stream().filter(o -> o.kind().equals("unreachable")).count(),
          seen.stream().filter(o -> o.kind().equals("reachable")).count(),
          seen.stream().filter(o -> o.kind().equals("downed")).map(FailoverHarness.Observation::member).distinct().count(),
          loadBefore, loadAfter, written);
    }
  }

  /**
   * Stalls a node that does not run the stream for {@code millis}, then waits long enough for any
   * downing decision (twice the longest stable-after, and more), and says what the others did.
   */
  static Stall stall(Config timings, long millis) throws Exception {
    try (FailoverHarness cluster = new FailoverHarness(timings)) {
      ActorSystem<Void> host = cluster.host(Duration.ofSeconds(30));
      ActorSystem<Void> victim = cluster.nodes().stream().filter(node -> node != host).reduce((a, b) -> b).orElseThrow();
      long from = System.nanoTime();
      cluster.stall(victim, Duration.ofMillis(millis));
      long until = from + TimeUnit.MILLISECONDS.toNanos(millis + 8_000);
      Await.until(Duration.ofMillis(millis + 30_000), () -> System.nanoTime() >= until, () -> "the stall and the wait after it");
      return new Stall(millis, cluster.firstObserved("unreachable", victim, from).isPresent(),
          cluster.firstObserved("downed", victim, from).isPresent());
    }
  }

  /** Keeps the burners' work from being optimised away. */
  private static volatile long burned;

  static long median(List<Long> sorted) {
    return sorted.get(sorted.size() / 2);
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
