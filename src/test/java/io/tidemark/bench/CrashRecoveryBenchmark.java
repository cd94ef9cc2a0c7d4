package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.FlowWithContext;
import com.typesafe.config.Config;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.window.WindowSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;

/**
 * Crash recovery, measured: for each window size N, a pipeline reading pre-written events is
 * killed at a random point (its actor system terminated abruptly: no drain, no flush) again and
 * again, and each time a fresh actor system on the same checkpoint database and the same MongoDB
 * takes over. The bench's own audit records every event each run delivered: the replay of each
 * restart (events delivered again), the time from the restart to its first event, and at the end
 * every event written against every event delivered — none may be missing.
 */
final class CrashRecoveryBenchmark {
  private CrashRecoveryBenchmark() {}

  static final int[] WINDOWS = {100, 1_000, 10_000};

  /** The user's stage in the killed pipelines. */
  enum Workload {
    INSTANT("instant", "`mapAsync(1)`, every event done at once"),
    HELD("held", "`mapAsync(N)`, every N-th event taking N / 20 ms (at least 20 ms), long enough for the N after it to be done"
        + " and wait behind it, so that the window fills up to N: the worst case");
    final String label;
    final String description;

    Workload(String label, String description) {
      this.label = label;
      this.description = description;
    }
  }

  /** One restart after a crash: what it replayed and how soon it delivered again. */
  record Restart(int window, int crash, long replayed, double firstEventMillis) {}

  /** The outcome for one window size. */
  record Outcome(Workload workload, int window, long bound, long written, long lost, long boundViolations, List<Restart> restarts, double seconds) {
    Stats replayed() {
      return Stats.of(restarts.stream().map(Restart::replayed).toList());
    }

    Stats firstEvent() {
      return Stats.of(restarts.stream().map(Restart::firstEventMillis).toList());
    }
  }

  enum Verdict { DELIVER, KILL, DEAD }

  /**
   * Every event delivered, by its order id, across runs; and the current run's figures. Written by
   * the run's stage, read by the bench between runs (runs never overlap).
   */
  static final class Audit {
    private final BitSet delivered = new BitSet();
    private final BitSet before = new BitSet();
    private long runDelivered;
    private long runReplayed;
    private long runFirstNanos;
    private long killAt;
    private boolean killed;

    synchronized void beginRun(long killAfter) {
      before.clear();
      before.or(delivered);
      runDelivered = 0;
      runReplayed = 0;
      runFirstNanos = 0;
      killAt = killAfter;
      killed = false;
    }

    /**
     * An event reaches the stage: {@code DELIVER} it and record it; or the run has just reached its
     * kill point ({@code KILL}), or is past it ({@code DEAD}): the event is not processed.
     */
    synchronized Verdict onEvent(int id) {
      if (killed) return Verdict.DEAD;
      if (runFirstNanos == 0) runFirstNanos = System.nanoTime();
      if (runDelivered >= killAt) {
        killed = true;
        return Verdict.KILL;
      }
      runDelivered++;
      if (before.get(id)) runReplayed++;
      delivered.set(id);
      return Verdict.DELIVER;
    }

    synchronized boolean killed() {
      return killed;
    }

    synchronized long distinct() {
      return delivered.cardinality();
    }

    synchronized long runDelivered() {
      return runDelivered;
    }

    synchronized long runReplayed() {
      return runReplayed;
    }

    synchronized long runFirstNanos() {
      return runFirstNanos;
    }

    /** Ids in {@code [0, written)} never delivered. */
    synchronized long missing(long written) {
      return written - delivered.get(0, (int) written).cardinality();
    }
  }

  static List<Outcome> run(int kills) throws Exception {
    double loadBefore = Report.loadAverage();
    System.out.printf("== recovery: window sizes %s, %d crashes each at random points, replay and restart measured%n",
        java.util.Arrays.toString(WINDOWS), kills);
    List<Outcome> outcomes = new ArrayList<>();
    for (Workload workload : Workload.values()) {
      for (int window : WINDOWS) outcomes.add(measure(window, kills, workload));
    }
    String md = markdown(kills, outcomes, Report.conditions(loadBefore, Report.loadAverage()));
    chart(outcomes);
    Report.writeSection("recovery", md);
    System.out.println(md);
    return outcomes;
  }

  static Outcome measure(int size, int kills, Workload workload) throws Exception {
    long started = System.nanoTime();
    Path dir = Files.createTempDirectory("tidemark-bench-recovery");
    Config config = TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString()).withFallback(CheckpointStores.quiet());
    WindowSettings window = WindowSettings.create(config).withSize(size);
    long bound = window.replayBound();
    // Each run is killed after at most `chunk` deliveries, so `chunk` undelivered events are always enough for the next kill.
    int chunk = (int) (2 * bound);
    Random random = new Random(20_261_127L + size);
    Audit audit = new Audit();
    List<Restart> restarts = new ArrayList<>();
    long violations = 0;
    int written = 0;
    System.out.printf("-- %s stage, window N = %,d, checkpoint every %,d events or %d ms: replay bound N + K = %,d%n",
        workload.label, size, window.checkpointEveryEvents, window.checkpointEveryInterval.toMillis(), bound);
    java.util.concurrent.Executor hold = CompletableFuture.delayedExecutor(Math.max(20, size / 20), TimeUnit.MILLISECONDS);
    int parallelism = workload == Workload.HELD ? size : 1;
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(5_000_000);
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      int initial = kills * (int) bound;
      System.out.printf("writing %,d events%n", initial);
      BenchEvents.insert(sync, 0, initial);
      written = initial;
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      for (int run = 1; run <= kills + 1; run++) {
        boolean last = run == kills + 1;
        if (!last && written - audit.distinct() < chunk) {
          BenchEvents.insert(sync, written, chunk);
          written += chunk;
        }
        long killAfter = last ? Long.MAX_VALUE : random.nextInt(chunk + 1);
        audit.beginRun(killAfter);
        long restartAt = System.nanoTime();
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-recovery", config);
        CountingCheckpointStore checkpoints = new CountingCheckpointStore(JdbcCheckpointStore.create(system));
        // At the kill point the run stops short, as a killed process does: no event is processed and no
        // checkpoint written after it, though its actor system takes a moment to stop.
        PipelineControl control = Pipeline.named("recovery")
            .mongoUri(mongo.connectionString())
            .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
            .startAtOperationTime(from)
            .checkpoints(checkpoints)
            .windowSettings(window)
            .via(FlowWithContext.<ChangeEnvelope, EventContext>create().mapAsync(parallelism, event -> {
              int id = event.documentKey().getInt32("_id").getValue();
              switch (audit.onEvent(id)) {
                case KILL -> {
                  checkpoints.freeze();
                  system.terminate();
                  return new CompletableFuture<ChangeEnvelope>();
                }
                case DEAD -> {
                  return new CompletableFuture<ChangeEnvelope>();
                }
                default -> {
                  return workload == Workload.HELD && id % size == 0
                      ? CompletableFuture.supplyAsync(() -> event, hold)
                      : CompletableFuture.completedFuture(event);
                }
              }
            }))
            .run(system);
        if (!last) {
          Await.until(Duration.ofMinutes(5), audit::killed, () -> "run to be killed after " + killAfter + " events");
          system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
        } else {
          long total = written;
          try {
            Await.until(Duration.ofMinutes(5), () -> audit.distinct() >= total, () -> "every event delivered");
          } catch (AssertionError timedOut) {
            System.out.println("!! " + timedOut.getMessage());
          }
          control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
          system.terminate();
          system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
        }
        if (run > 1) {
          double firstMillis = audit.runFirstNanos() == 0 ? Double.NaN : (audit.runFirstNanos() - restartAt) / 1e6;
          Restart restart = new Restart(size, run - 1, audit.runReplayed(), firstMillis);
          restarts.add(restart);
          if (restart.replayed() > bound) violations++;
        }
        System.out.printf(Locale.ROOT, "%s N=%,d run %d/%d: %s after %,d deliveries, %,d of them replays%s; first event %,.0f ms after the restart; %,d of %,d events delivered so far%n",
            workload.label, size, run, kills + 1, last ? "drained" : "killed", audit.runDelivered(), audit.runReplayed(),
            audit.runReplayed() > bound ? " (OVER THE BOUND " + bound + ")" : "",
            audit.runFirstNanos() == 0 ? Double.NaN : (audit.runFirstNanos() - restartAt) / 1e6, audit.distinct(), written);
      }
    }
    long lost = audit.missing(written);
    Outcome outcome = new Outcome(workload, size, bound, written, lost, violations, restarts, (System.nanoTime() - started) / 1e9);
    System.out.printf(Locale.ROOT, "%s N=%,d: %d crashes, replayed max %,d mean %,.0f (bound %,d), first event after a restart median %,.0f ms p95 %,.0f ms, lost %d of %,d%n",
        workload.label, size, kills, (long) outcome.replayed().max(), outcome.replayed().mean(), bound, outcome.firstEvent().median(),
        outcome.firstEvent().percentile(95), lost, written);
    return outcome;
  }

  static String markdown(int kills, List<Outcome> outcomes, String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## Crash recovery: replay and restart\n\n");
    md.append(String.format(Locale.ROOT,
        "Command: `mvn -B -Pbench test-compile exec:exec -Dbench=recovery [-Dbench.kills=%d]`. `CrashRecoveryBenchmark`: for each window%n", kills));
    md.append("size N, a pipeline (checkpoints on an H2 file through akka-persistence-jdbc, the default throttle K) reads\n");
    md.append("pre-written inserts from the embedded MongoDB and is killed at a random point: after a number of deliveries drawn\n");
    md.append("uniformly from 0 to 2 (N + K), it stops processing events and writing checkpoints at once, as a killed process does,\n");
    md.append("and its actor system is terminated with no drain and no flush, as `CrashRecoveryIT` does. A fresh actor system on\n");
    md.append(String.format(Locale.ROOT,
        "the same checkpoint database and MongoDB then resumes from the stored checkpoint; %d crashes per N, then a last run%n", kills));
    md.append("that reads to the end and drains. More events are written between runs whenever fewer than 2 (N + K) remain, so\n");
    md.append("every kill falls before the end. Two user stages:\n\n");
    for (Workload workload : Workload.values()) {
      md.append("- *").append(workload.label).append("*: ").append(workload.description)
          .append(workload.ordinal() < Workload.values().length - 1 ? ";\n" : ".\n");
    }
    md.append('\n');
    md.append("The bench keeps its own audit of every event each run delivered (handed to the stage): *replayed* is, for each\n");
    md.append("restart, the events it delivered that an earlier run had already delivered, against the bound N + K (the window\n");
    md.append("plus `checkpoint.every-events`, as in `WindowSettings.replayBound()` and `CrashRecoveryIT`); *first event* is the\n");
    md.append("time from creating the new actor system to its first event (start-up, checkpoint recovery and a new epoch, opening\n");
    md.append("and reading the change stream); *lost* is every event written and never delivered by any run. The bench exits\n");
    md.append("non-zero when anything is lost or a replay exceeds the bound.\n\n");
    md.append(conditions).append("\n\n");
    md.append("| stage | window N | bound N + K | crashes | replayed, max | replayed, mean | first event after restart, median | p95 | events written | lost |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|\n");
    for (Outcome o : outcomes) {
      md.append(String.format(Locale.ROOT, "| %s | %,d | %,d | %d | %,d | %,.0f | %,.0f ms | %,.0f ms | %,d | **%d** |%n",
          o.workload().label, o.window(), o.bound(), o.restarts().size(), (long) o.replayed().max(), o.replayed().mean(),
          o.firstEvent().median(), o.firstEvent().percentile(95), o.written(), o.lost()));
    }
    long lost = outcomes.stream().mapToLong(Outcome::lost).sum();
    long violations = outcomes.stream().mapToLong(Outcome::boundViolations).sum();
    md.append(String.format(Locale.ROOT, "%nAudit: **%d events lost** over %d crashes; %s.%n%n", lost,
        outcomes.stream().mapToInt(o -> o.restarts().size()).sum(),
        violations == 0 ? "no restart replayed more than N + K" : "**" + violations + " restarts replayed more than N + K**"));
    md.append("![events replayed after a crash, against the bound](img/recovery.svg)\n\n");
    md.append("![time from the restart to the first event](img/recovery-restart.svg)\n\n");
    md.append(CrashRecoveryAnalysis.TEXT);
    return md.toString();
  }

  static void chart(List<Outcome> outcomes) throws java.io.IOException {
    List<Report.Bar> bars = new ArrayList<>();
    for (int window : WINDOWS) {
      String n = String.format(Locale.ROOT, "N=%,d", window);
      for (Outcome o : outcomes) {
        if (o.window() != window) continue;
        bars.add(new Report.Bar(n + ", " + o.workload().label + " stage", o.replayed().mean(), "replayed, " + o.workload().label + " stage (mean, min–max)",
            o.replayed().min(), o.replayed().max()));
      }
      outcomes.stream().filter(o -> o.window() == window).findFirst()
          .ifPresent(o -> bars.add(new Report.Bar(n + ", bound N + K", o.bound(), "bound N + K")));
    }
    long k = outcomes.isEmpty() ? 0 : outcomes.get(0).bound() - outcomes.get(0).window();
    Report.barChart("recovery.svg", String.format(Locale.ROOT, "Events replayed after a crash, per window size N (K = %,d)", k), "events", bars);
    List<Report.Bar> times = new ArrayList<>();
    for (Outcome o : outcomes) {
      String n = String.format(Locale.ROOT, "N=%,d, %s stage", o.window(), o.workload().label);
      times.add(new Report.Bar(n, o.firstEvent().median(), "median (min–max)", o.firstEvent().min(), o.firstEvent().max()));
    }
    Report.barChart("recovery-restart.svg", "Time from the restart to the first event (lower is better)", "ms", times);
  }

  static boolean failed(List<Outcome> outcomes) {
    return outcomes.stream().anyMatch(o -> o.lost() > 0 || o.boundViolations() > 0);
  }
}
