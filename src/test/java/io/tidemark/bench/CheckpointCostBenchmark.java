package io.tidemark.bench;

import akka.stream.javadsl.FlowWithContext;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.window.WindowSettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;

/**
 * What a checkpoint costs in each store: the durable writes a pipeline makes while it reads
 * pre-written events as fast as it can (per 1,000 events), the time of those saves, and the time
 * of a save on its own (1,000 saves one after the other).
 */
final class CheckpointCostBenchmark {
  private CheckpointCostBenchmark() {}

  static final int SEQUENTIAL_SAVES = 1_000;
  /** Saves before the measured ones: enough for the JIT to compile the store's path, whose compiling would otherwise be counted. */
  static final int SEQUENTIAL_WARM_UP = 1_000;
  static final int WARM_UP_PIPELINES = 2;

  /** One store's figures; {@code unavailable} says why there are none. */
  record Result(String store, String description, String unavailable, long events, double eventsPerSecond, double cpuMicrosPerEvent,
      long saves, Stats fullRateMillis, Stats sequentialMillis, double sequentialPerSecond, double cpuMillisPerSave) {
    double writesPerThousand() {
      return saves * 1_000.0 / events;
    }
  }

  static void run(int events) throws Exception {
    double loadBefore = Report.loadAverage();
    System.out.printf("== checkpoints: durable writes per 1,000 events at full rate (%,d events) and save latency, per store%n", events);
    List<Result> results = new ArrayList<>();
    WindowSettings window = WindowSettings.create(CheckpointStores.quiet());
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(Math.max(500_000L, 2L * events));
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      System.out.printf("writing %,d events%n", events);
      BenchEvents.insert(sync, 0, events);
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      // Warm up the JIT on the whole path first, so that the first store measured is not the slowest for that alone.
      System.out.printf("warm-up: %d pipelines over all %,d events, checkpoints in memory%n", WARM_UP_PIPELINES, events);
      try (CheckpointStores.Opened warmUp = CheckpointStores.all().get(0).opener().open()) {
        for (int i = 0; i < WARM_UP_PIPELINES; i++) fullRate(warmUp, mongo.connectionString(), from, events, "warm-up");
      }
      for (CheckpointStores.Factory factory : CheckpointStores.all()) {
        System.out.printf("%s: %s%n", factory.name(), factory.description());
        CheckpointStores.Opened opened;
        try {
          opened = factory.opener().open();
        } catch (CheckpointStores.Unavailable e) {
          System.out.println("  skipped: " + e.getMessage());
          results.add(new Result(factory.name(), factory.description(), e.getMessage(), 0, 0, 0, 0, Stats.of(), Stats.of(), 0, 0));
          continue;
        }
        try (opened) {
          results.add(measure(factory, opened, mongo.connectionString(), from, events, window));
        }
      }
    }
    String md = markdown(events, window, results, Report.conditions(loadBefore, Report.loadAverage()));
    chart(results);
    Report.writeSection("checkpoints", md);
    System.out.println(md);
  }

  static Result measure(CheckpointStores.Factory factory, CheckpointStores.Opened opened, String uri, BsonTimestamp from, int events,
      WindowSettings window) throws Exception {
    // A warm-up pipeline over part of the events, then the measured one over all of them.
    fullRate(opened, uri, from, Math.min(events, 20_000), "warm-up");
    CountingCheckpointStore counted = new CountingCheckpointStore(opened.store());
    EndToEndBenchmark.Clock clock = new EndToEndBenchmark.Clock(events);
    long[] savesAtEnd = new long[1];
    String stream = "cost-" + Long.toHexString(System.nanoTime());
    PipelineControl control = Pipeline.named(stream)
        .mongoUri(uri)
        .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
        .startAtOperationTime(from)
        .checkpoints(counted)
        .windowSettings(window)
        .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> {
          clock.onEvent();
          if (clock.count.get() == events) savesAtEnd[0] = counted.saves();
          return event;
        }))
        .run(opened.system());
    EndToEndBenchmark.Run run;
    try {
      run = clock.await(factory.name(), 1);
    } finally {
      control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
    List<Long> fullRate = counted.latencies();
    long saves = savesAtEnd[0];
    System.out.printf(Locale.ROOT, "  full rate: %,d events at %,.0f events/s (CPU %.1f µs/event), %d durable writes while reading (%.2f per 1,000 events; %d with the one at the stop)%n",
        events, run.eventsPerSecond(), run.cpuMicrosPerEvent(), saves, saves * 1_000.0 / events, counted.saves());
    Stats fullRateMillis = Stats.of(fullRate.stream().map(n -> n / 1e6).toList());
    System.out.printf(Locale.ROOT, "  full rate: save p50 %.2f ms, p99 %.2f ms (%d saves)%n",
        fullRateMillis.median(), fullRateMillis.percentile(99), fullRateMillis.count());
    long[] cpuNanos = new long[1];
    double[] sequential = sequential(opened, cpuNanos);
    double cpuMillisPerSave = cpuNanos[0] / 1e6 / SEQUENTIAL_SAVES;
    Stats sequentialMillis = Stats.of(sequential);
    double total = java.util.Arrays.stream(sequential).sum();
    System.out.printf(Locale.ROOT, "  one after the other: save p50 %.2f ms, p99 %.2f ms (%d saves, %.0f saves/s, %.2f ms of CPU each)%n",
        sequentialMillis.median(), sequentialMillis.percentile(99), sequential.length, sequential.length * 1_000 / total, cpuMillisPerSave);
    return new Result(factory.name(), factory.description(), null, events, run.eventsPerSecond(), run.cpuMicrosPerEvent(), saves,
        fullRateMillis, sequentialMillis, sequential.length * 1_000 / total, cpuMillisPerSave);
  }

  private static void fullRate(CheckpointStores.Opened opened, String uri, BsonTimestamp from, int events, String what) throws Exception {
    EndToEndBenchmark.Clock clock = new EndToEndBenchmark.Clock(events);
    PipelineControl control = Pipeline.named("cost-" + what + "-" + Long.toHexString(System.nanoTime()))
        .mongoUri(uri)
        .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
        .startAtOperationTime(from)
        .checkpoints(opened.store())
        .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> {
          clock.onEvent();
          return event;
        }))
        .run(opened.system());
    try {
      clock.await(what, 0);
    } finally {
      control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
  }

  /**
   * Saves one after the other on a stream of its own, each at a newer position; milliseconds each, after a warm-up;
   * {@code cpuNanos[0]}: the process's CPU over the measured saves.
   */
  static double[] sequential(CheckpointStores.Opened opened, long[] cpuNanos) throws Exception {
    String stream = "cost-seq-" + Long.toHexString(System.nanoTime());
    StreamCheckpoints record = opened.store().open(stream).toCompletableFuture().get(1, TimeUnit.MINUTES);
    try {
      long epoch = record.acquire().toCompletableFuture().get(1, TimeUnit.MINUTES).epoch();
      int seconds = (int) (System.currentTimeMillis() / 1000);
      double[] millis = new double[SEQUENTIAL_SAVES];
      long cpuBefore = 0;
      for (int i = 0; i < SEQUENTIAL_WARM_UP + SEQUENTIAL_SAVES; i++) {
        if (i == SEQUENTIAL_WARM_UP) cpuBefore = CpuProfile.processCpuNanos();
        BsonTimestamp time = new BsonTimestamp(seconds, i + 1);
        BsonDocument token = new BsonDocument("_data", new BsonString(String.format("82%016x", time.getValue())));
        long start = System.nanoTime();
        record.save(Checkpoint.atToken(stream, token, time), epoch).toCompletableFuture().get(1, TimeUnit.MINUTES);
        if (i >= SEQUENTIAL_WARM_UP) millis[i - SEQUENTIAL_WARM_UP] = (System.nanoTime() - start) / 1e6;
      }
      cpuNanos[0] = CpuProfile.processCpuNanos() - cpuBefore;
      return millis;
    } finally {
      record.close().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }

  static String markdown(int events, WindowSettings window, List<Result> results, String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## Checkpoint cost per store\n\n");
    md.append(String.format(Locale.ROOT,
        "Command: `mvn -B -Pbench test-compile exec:exec -Dbench=checkpoints [-Dbench.events=%d]`. `CheckpointCostBenchmark`: for%n", events));
    md.append(String.format(Locale.ROOT,
        "each store, a pipeline with a no-op stage reads %,d pre-written events (embedded MongoDB in memory) as fast as it can,%n", events));
    md.append(String.format(Locale.ROOT,
        "with the default window and throttle (%,d events in flight; a checkpoint every %,d events or %d ms, whichever first);%n",
        window.size, window.checkpointEveryEvents, window.checkpointEveryInterval.toMillis()));
    md.append("`CountingCheckpointStore` wraps the store and counts the saves that reach it and are acknowledged (durable),\n");
    md.append(String.format(Locale.ROOT, "and times each from the call to the acknowledgement. Then, on a stream of its own, %,d saves one after the other%n",
        SEQUENTIAL_SAVES));
    md.append(String.format(Locale.ROOT, "(after %,d unmeasured, for the JIT): the time of a save with nothing else going on, and the CPU the whole%n",
        SEQUENTIAL_WARM_UP));
    md.append("process spent over the measured saves, per save (user and kernel time, JIT and GC included).\n");
    md.append("Target: ≤ 1 durable write per 1,000 events at full rate.\n\n");
    md.append(conditions).append("\n\n");
    md.append("| store | pipeline events/s | CPU per event | durable writes while reading | per 1,000 events | save at full rate, p50 / p99 | save alone, p50 / p99 | saves/s alone | CPU per save alone |\n");
    md.append("|---|---|---|---|---|---|---|---|---|\n");
    for (Result r : results) {
      if (r.unavailable() != null) {
        md.append(String.format(Locale.ROOT, "| %s | not measured: %s | | | | | | | |%n", r.store(), r.unavailable()));
        continue;
      }
      md.append(String.format(Locale.ROOT, "| %s | %,.0f | %.1f µs | %,d | **%.2f** | %s / %s ms | %s / %s ms | %,.0f | %s ms |%n",
          r.store(), r.eventsPerSecond(), r.cpuMicrosPerEvent(), r.saves(), r.writesPerThousand(),
          Report.format(r.fullRateMillis().median()), Report.format(r.fullRateMillis().percentile(99)),
          Report.format(r.sequentialMillis().median()), Report.format(r.sequentialMillis().percentile(99)), r.sequentialPerSecond(),
          Report.format(r.cpuMillisPerSave())));
    }
    md.append("\nThe stores: ");
    md.append(String.join("; ", results.stream().map(r -> "*" + r.store() + "*: " + r.description()).toList()));
    md.append(". Another store is one more factory in `CheckpointStores.all()`.\n\n");
    md.append("![save latency per store](img/checkpoints.svg)\n\n");
    boolean met = results.stream().filter(r -> r.unavailable() == null).allMatch(r -> r.writesPerThousand() <= 1.0);
    md.append(String.format(Locale.ROOT, "The target of ≤ 1 durable write per 1,000 events is **%s** for every store measured.%n%n", met ? "met" : "missed"));
    md.append(sideBySide(results));
    md.append(CheckpointCostAnalysis.TEXT);
    return md.toString();
  }

  /** The plain SQL store against the event-sourced one on the same database, and Redis against PostgreSQL: ratios within this run. */
  static String sideBySide(List<Result> results) {
    java.util.Map<String, Result> byName = new java.util.HashMap<>();
    for (Result r : results) if (r.unavailable() == null) byName.put(r.store(), r);
    StringBuilder md = new StringBuilder();
    String[][] pairs = {{"H2, plain SQL", "H2"}, {"PostgreSQL, plain SQL", "PostgreSQL"}, {"Redis", "PostgreSQL"}};
    List<String> lines = new ArrayList<>();
    for (String[] pair : pairs) {
      Result a = byName.get(pair[0]);
      Result b = byName.get(pair[1]);
      if (a == null || b == null) continue;
      lines.add(String.format(Locale.ROOT,
          "- *%s* against *%s*: this process's CPU per save alone %s against %s ms (**%.2f×**), a save alone %s against %s ms at the"
              + " median (%.2f×), %,.0f against %,.0f saves/s (%.1f×).",
          a.store(), b.store(), Report.format(a.cpuMillisPerSave()), Report.format(b.cpuMillisPerSave()),
          a.cpuMillisPerSave() / b.cpuMillisPerSave(), Report.format(a.sequentialMillis().median()), Report.format(b.sequentialMillis().median()),
          a.sequentialMillis().median() / b.sequentialMillis().median(), a.sequentialPerSecond(), b.sequentialPerSecond(),
          a.sequentialPerSecond() / b.sequentialPerSecond()));
    }
    if (lines.isEmpty()) return "";
    md.append("Side by side, in this run (the same machine and load; compare rows within a run, not across runs):\n\n");
    lines.forEach(line -> md.append(line).append('\n'));
    md.append('\n');
    return md.toString();
  }

  static void chart(List<Result> results) throws java.io.IOException {
    List<Report.Bar> bars = new ArrayList<>();
    for (Result r : results) {
      if (r.unavailable() != null) continue;
      bars.add(new Report.Bar(r.store() + ", alone, p50", r.sequentialMillis().median(), "p50"));
      bars.add(new Report.Bar(r.store() + ", alone, p99", r.sequentialMillis().percentile(99), "p99"));
      bars.add(new Report.Bar(r.store() + ", full rate, p50", r.fullRateMillis().median(), "p50"));
      bars.add(new Report.Bar(r.store() + ", full rate, p99", r.fullRateMillis().percentile(99), "p99"));
    }
    Report.barChart("checkpoints.svg", "Time of one checkpoint save, per store (lower is better)", "ms", bars);
  }
}
