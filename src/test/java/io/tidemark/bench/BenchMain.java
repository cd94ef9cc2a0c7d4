package io.tidemark.bench;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.openjdk.jmh.profile.GCProfiler;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code mvn -B -Pbench test-compile exec:exec}: runs the benchmarks and writes their results to
 * {@code docs/benchmarks.md} and {@code docs/img/}. Benchmarks are not tests: nothing here passes
 * or fails on speed.
 */
public final class BenchMain {
  private BenchMain() {}

  static final java.util.Set<String> BENCHMARKS =
      java.util.Set.of("all", "window", "failover", "failover-shards", "oplog", "e2e", "e2e-in-process", "checkpoints", "recovery", "kafka", "embedded", "streams", "snapshot", "consumer");

  public static void main(String[] args) throws Exception {
    String which = args.length > 0 ? args[0] : "all";
    if (!BENCHMARKS.contains(which)) {
      System.err.println("unknown benchmark '" + which + "': expected -Dbench= one of all, window, failover, failover-shards, oplog, e2e, e2e-in-process, checkpoints, recovery,"
          + " kafka, embedded, streams, snapshot, consumer");
      System.exit(2);
    }
    if (which.equals("all") || which.equals("window")) window();
    if (which.equals("all") || which.equals("failover")) {
      FailoverBenchmark.run(Integer.getInteger("bench.failover.runs", 5), Integer.getInteger("bench.failover.soak.seconds", 90));
    }
    if (which.equals("all") || which.equals("failover-shards")) {
      FailoverBenchmark.runSharded(Integer.getInteger("bench.failover.runs", 5));
    }
    if (which.equals("all") || which.equals("oplog")) oplog();
    if (which.equals("all") || which.equals("embedded")) {
      quietPipelineLogs();
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("de.bwaldvogel")).setLevel(ch.qos.logback.classic.Level.WARN);
      embedded();
    }
    if (which.equals("all") || which.equals("e2e")) {
      ProcessEndToEndBenchmark.run(Integer.getInteger("bench.e2e.events", 30_000), Integer.getInteger("bench.e2e.rounds", 3));
    }
    if (which.equals("all") || which.equals("e2e-in-process")) {
      quietPipelineLogs();
      EndToEndBenchmark.run(Integer.getInteger("bench.events", 100_000), Integer.getInteger("bench.rounds", 5));
    }
    if (which.equals("consumer")) {
      quietPipelineLogs();
      ConsumerCostBenchmark.run(Integer.getInteger("bench.events", 100_000), Integer.getInteger("bench.rounds", 5));
    }
    if (which.equals("all") || which.equals("checkpoints")) {
      quietPipelineLogs();
      CheckpointCostBenchmark.run(Integer.getInteger("bench.events", 100_000));
    }
    if (which.equals("all") || which.equals("kafka")) {
      quietPipelineLogs();
      KafkaBenchmark.run(Integer.getInteger("bench.events", 100_000), Integer.getInteger("bench.rounds", 5));
    }
    if (which.equals("all") || which.equals("streams")) {
      quietPipelineLogs();
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("de.bwaldvogel")).setLevel(ch.qos.logback.classic.Level.WARN);
      StreamsBenchmark.run(Integer.getInteger("bench.backlog", 1_000_000));
    }
    if (which.equals("all") || which.equals("snapshot")) {
      quietPipelineLogs();
      SnapshotBenchmark.run(Integer.getInteger("bench.snapshot.documents", 500_000), Integer.getInteger("bench.snapshot.rounds", 3));
    }
    if (which.equals("all") || which.equals("recovery")) {
      quietPipelineLogs();
      // Every killed run says that it stopped abruptly: that is the point of the exercise, and the audit counts the rest.
      ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.tidemark.pipeline.PipelineBuilder"))
          .setLevel(ch.qos.logback.classic.Level.OFF);
      if (CrashRecoveryBenchmark.failed(CrashRecoveryBenchmark.run(Integer.getInteger("bench.kills", 20)))) {
        System.err.println("recovery: the audit failed (events lost, or a replay over N + K): see docs/benchmarks.md");
        System.exit(1);
      }
    }
    System.exit(0);
  }

  /**
   * The new scenarios start and kill many pipelines: their start and stop lines (INFO) and the
   * complaints of a killed one (WARN, ERROR) would bury the progress lines; the audit counts what matters.
   */
  static void quietPipelineLogs() {
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("io.tidemark")).setLevel(ch.qos.logback.classic.Level.ERROR);
  }

  /** Catching up on a change stream n events behind: mongo-java-server's stock oplog against the kit's. */
  static void oplog() throws Exception {
    long budget = java.time.Duration.ofSeconds(Long.getLong("oplog.budget.seconds", 120)).toNanos();
    System.out.println("== oplog: reading a change stream 10k and 100k events behind, stock oplog vs the kit's");
    List<OplogBenchmark.Result> results = new ArrayList<>();
    System.out.println("warm-up:");
    OplogBenchmark.measure("stock", OplogBenchmark.stock(), 10_000, budget);
    OplogBenchmark.measure("kit", OplogBenchmark.kit(), 10_000, budget);
    for (int backlog : new int[] {10_000, 100_000}) {
      List<OplogBenchmark.Result> stock = new ArrayList<>();
      List<OplogBenchmark.Result> kit = new ArrayList<>();
      for (int run = 0; run < 3; run++) {
        stock.add(OplogBenchmark.measure("stock", OplogBenchmark.stock(), backlog, budget));
        kit.add(OplogBenchmark.measure("kit", OplogBenchmark.kit(), backlog, budget));
      }
      results.add(OplogBenchmark.median(stock));
      results.add(OplogBenchmark.median(kit));
    }
    StringBuilder md = new StringBuilder();
    md.append("## Catching up on a change stream: mongo-java-server's oplog against the kit's\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=oplog`. `OplogBenchmark`: an in-memory server, n orders\n");
    md.append("inserted, then a change stream resumed just before the first of them (`resumeAfter`, batches of 1,000) and read to\n");
    md.append("the end with the sync driver; events per second from opening to the last event, median of 3 runs after a warm-up. *Stock*: mongo-java-server 1.47.0's\n");
    md.append("`CollectionBackedOplog`, which filters the whole oplog collection on every getMore; *kit*: `ChangeStreamOplog`, which\n");
    md.append("seeks to the position in its ordered map (O(log n)) and reads on from there. A run stops after "
        + budget / 1_000_000_000L + " s and reports the rate so far.\n\n");
    md.append("| events behind | stock oplog | kit oplog | kit / stock |\n|---|---|---|---|\n");
    List<Report.Bar> bars = new ArrayList<>();
    for (int i = 0; i < results.size(); i += 2) {
      OplogBenchmark.Result stock = results.get(i);
      OplogBenchmark.Result kit = results.get(i + 1);
      String partial = stock.read() < stock.backlog() ? String.format(Locale.ROOT, " (%,d read before the time limit)", stock.read()) : "";
      md.append(String.format(Locale.ROOT, "| %,d | %,.0f events/s%s | %,.0f events/s | **%.1f×** |%n",
          stock.backlog(), stock.eventsPerSecond(), partial, kit.eventsPerSecond(), kit.eventsPerSecond() / stock.eventsPerSecond()));
      bars.add(new Report.Bar(String.format(Locale.ROOT, "%,d behind, stock", stock.backlog()), stock.eventsPerSecond(), "stock oplog"));
      bars.add(new Report.Bar(String.format(Locale.ROOT, "%,d behind, kit", kit.backlog()), kit.eventsPerSecond(), "kit oplog"));
    }
    md.append("\n![catch-up rate](img/oplog.svg)\n\n");
    md.append("The stock oplog's cost per getMore grows with the oplog, so its rate falls as the backlog grows; the kit's stays\n");
    md.append("flat. This is what lets the embedded default keep a large capped oplog (500,000 entries by default).\n");
    Report.barChart("oplog.svg", "Catch-up rate of a change stream (higher is better)", "events/s", bars);
    Report.writeSection("oplog", md.toString());
    System.out.println(md);
  }

  /** The embedded MongoDB against the size of its data, beside mongo-java-server's stock H2 backend. */
  static void embedded() throws Exception {
    List<Integer> sizes = sizes("bench.embedded.sizes", "10000,100000,1000000");
    List<Integer> stockSizes = sizes("bench.embedded.stock-sizes", "10000,100000");
    long budget = java.time.Duration.ofSeconds(Long.getLong("bench.embedded.budget.seconds", 120)).toNanos();
    System.out.println("== embedded: the embedded MongoDB at " + sizes + " documents (stock H2Backend at " + stockSizes + ")");
    double loadBefore = Report.loadAverage();
    java.nio.file.Path root = java.nio.file.Files.createTempDirectory("tidemark-bench-embedded");
    List<EmbeddedBenchmark.Row> rows = new ArrayList<>();
    List<double[]> memory = new ArrayList<>();
    try {
      System.out.println("warm-up:");
      measureTidemark(root, 20_000, budget, new ArrayList<>(), false);
      measureStock(root, 20_000, budget, new ArrayList<>());
      for (int size : sizes) memory.add(measureTidemark(root, size, budget, rows, true));
      for (int size : stockSizes) measureStock(root, size, budget, rows);
    } finally {
      EmbeddedBenchmark.deleteTree(root);
    }
    double loadAfter = Report.loadAverage();
    String md = EmbeddedAnalysis.section(rows, sizes, memory, budget, Report.conditions(loadBefore, loadAfter));
    EmbeddedAnalysis.charts(rows, sizes, memory);
    Report.writeSection("embedded", md);
    System.out.println(md);
  }

  /**
   * Tidemark's server at one size, with commits before acknowledgement and once a second; returns
   * the mongo command's memory {opened, after reading all, peak} with the JVM's defaults, then the
   * same with -Xmx256m (or null).
   */
  private static double[] measureTidemark(java.nio.file.Path root, int size, long budget, List<EmbeddedBenchmark.Row> rows, boolean memory)
      throws Exception {
    java.nio.file.Path dir = root.resolve("tidemark-" + size);
    java.nio.file.Path file = dir.resolve(io.tidemark.embedded.EmbeddedMongo.STORE_FILE);
    System.out.printf("tidemark, %,d documents%n", size);
    EmbeddedBenchmark.Row row;
    try (EmbeddedBenchmark.Server server = EmbeddedBenchmark.tidemark(dir, true)) {
      row = measure(EmbeddedAnalysis.DURABLE, server, size, budget, file);
    }
    rows.add(new EmbeddedBenchmark.Row(row.server(), size, row.loadPerSecond(), row.loadedMegabytes(), EmbeddedBenchmark.megabytes(file),
        row.writesPerSecond(), row.concurrentWritesPerSecond(), row.eventsPerSecond(), row.monitorMillis(), row.firstDocumentMillis(),
        row.rangeBatchMillis(), row.notes()));
    System.out.println("  " + rows.get(rows.size() - 1));
    try (EmbeddedBenchmark.Server server = EmbeddedBenchmark.tidemark(dir, false)) {
      rows.add(new EmbeddedBenchmark.Row(EmbeddedAnalysis.PERIODIC, size, Double.NaN, Double.NaN, Double.NaN,
          EmbeddedBenchmark.writes(server.uri(), size, 1, budget), EmbeddedBenchmark.writes(server.uri(), size, EmbeddedBenchmark.WRITERS, budget),
          Double.NaN, Double.NaN, Double.NaN, Double.NaN, ""));
      System.out.println("  " + rows.get(rows.size() - 1));
    }
    double[] resident = null;
    if (memory) {
      double[] defaults = EmbeddedBenchmark.residentMemory(dir);
      double[] bounded = EmbeddedBenchmark.residentMemory(dir, "-Xmx256m");
      resident = new double[] {defaults[0], defaults[1], defaults[2], bounded[0], bounded[1], bounded[2]};
      System.out.println("  mongo command RSS (MB): opened, after reading all, peak; the same with -Xmx256m " + java.util.Arrays.toString(resident));
    }
    EmbeddedBenchmark.deleteTree(dir);
    return resident;
  }

  private static void measureStock(java.nio.file.Path root, int size, long budget, List<EmbeddedBenchmark.Row> rows) throws Exception {
    java.nio.file.Path dir = root.resolve("stock-" + size);
    java.nio.file.Path file = dir.resolve("stock.mv.db");
    System.out.printf("stock H2Backend, %,d documents%n", size);
    EmbeddedBenchmark.Row row;
    try (EmbeddedBenchmark.Server server = EmbeddedBenchmark.stock(dir)) {
      row = measure(EmbeddedAnalysis.STOCK, server, size, budget, file);
    }
    rows.add(new EmbeddedBenchmark.Row(row.server(), size, row.loadPerSecond(), row.loadedMegabytes(), EmbeddedBenchmark.megabytes(file),
        row.writesPerSecond(), row.concurrentWritesPerSecond(), row.eventsPerSecond(), row.monitorMillis(), row.firstDocumentMillis(),
        row.rangeBatchMillis(), row.notes()));
    System.out.println("  " + rows.get(rows.size() - 1));
    EmbeddedBenchmark.deleteTree(dir);
  }

  /** Everything measured on one server (the data file's size at the end is filled in once it is closed). */
  private static EmbeddedBenchmark.Row measure(String name, EmbeddedBenchmark.Server server, int size, long budget, java.nio.file.Path file)
      throws Exception {
    StringBuilder notes = new StringBuilder();
    double load = EmbeddedBenchmark.load(server.uri(), size);
    double loaded = EmbeddedBenchmark.megabytes(file);
    double writes = EmbeddedBenchmark.attempt("writes", notes, () -> EmbeddedBenchmark.writes(server.uri(), size, 1, budget));
    double concurrent = EmbeddedBenchmark.attempt("concurrent writes", notes,
        () -> EmbeddedBenchmark.writes(server.uri(), size, EmbeddedBenchmark.WRITERS, budget));
    double events = EmbeddedBenchmark.attempt("change stream", notes, () -> EmbeddedBenchmark.changeStream(server.uri(), size, budget));
    double monitor = EmbeddedBenchmark.attempt("monitor sample", notes, () -> EmbeddedBenchmark.monitorSample(server.uri(), budget));
    double first = EmbeddedBenchmark.attempt("bare find()", notes, () -> EmbeddedBenchmark.firstDocument(server.uri(), budget));
    double range = EmbeddedBenchmark.attempt("_id-range batch", notes, () -> EmbeddedBenchmark.rangeBatch(server.uri(), size, budget));
    return new EmbeddedBenchmark.Row(name, size, load, loaded, Double.NaN, writes, concurrent, events, monitor, first, range, notes.toString());
  }

  private static List<Integer> sizes(String property, String defaults) {
    List<Integer> sizes = new ArrayList<>();
    for (String size : System.getProperty(property, defaults).split(",")) {
      if (!size.isBlank()) sizes.add(Integer.parseInt(size.trim()));
    }
    return sizes;
  }

  static void window() throws Exception {
    System.out.println("== window: bare Flow.map against the window and checkpointer at parallelism 1, 8, 64");
    Options options = new OptionsBuilder()
        .include(WindowBenchmark.class.getName())
        .forks(1)
        .warmupIterations(3)
        .warmupTime(TimeValue.seconds(2))
        .measurementIterations(5)
        .measurementTime(TimeValue.seconds(2))
        .addProfiler(GCProfiler.class)
        .jvmArgs("-Xms1g", "-Xmx1g")
        .build();
    Collection<RunResult> results = new Runner(options).run();
    Map<String, Measured> byKey = new TreeMap<>();
    for (RunResult result : results) {
      String work = result.getParams().getParam("work");
      int parallelism = Integer.parseInt(result.getParams().getParam("parallelism"));
      String bench = result.getParams().getBenchmark().endsWith("bareFlowMap") ? "bare" : "window";
      double alloc = allocatedPerOperation(result);
      byKey.put(work + "/" + parallelism + "/" + bench,
          new Measured(result.getPrimaryResult().getScore(), result.getPrimaryResult().getScoreError(), alloc));
    }
    StringBuilder md = new StringBuilder();
    md.append("## The window and its checkpointer against a bare `Flow.map`\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=window`. `WindowBenchmark` (JMH, 1 fork, 3 × 2 s warm-up,\n");
    md.append("5 × 2 s measured, GC profiler): 100,000 events through a bare `Flow.map` and through the window + checkpointer +\n");
    md.append("lanes at parallelism P (checkpoints to memory every 1,000 events or 1 s), with the same user work per event in\n");
    md.append("both: *read-key* (hash the key and the token: almost nothing) or *encode-event* (encode the change event to\n");
    md.append("BSON, as a sink that stores it does). The baseline runs beside each P in the same run. Target: window overhead\n");
    md.append("≤ 10 % of the baseline, i.e. a ratio ≥ 0.90.\n\n");
    md.append("| work | P | bare Flow.map, events/s | window + checkpointer, events/s | ratio | overhead per event | allocated per event (bare → window) |\n");
    md.append("|---|---|---|---|---|---|---|\n");
    List<Report.Bar> bars = new ArrayList<>();
    for (String work : List.of("read-key", "encode-event")) {
      for (int parallelism : List.of(1, 8, 64)) {
        Measured base = byKey.get(work + "/" + parallelism + "/bare");
        Measured win = byKey.get(work + "/" + parallelism + "/window");
        if (base == null || win == null) continue;
        md.append(String.format(Locale.ROOT, "| %s | %d | %,.0f ± %,.0f | %,.0f ± %,.0f | %.2f | %.0f ns | %.0f B → %.0f B |%n",
            work, parallelism, base.score, base.error, win.score, win.error, win.score / base.score,
            1e9 / win.score - 1e9 / base.score, base.allocated, win.allocated));
        bars.add(new Report.Bar(work + ", P=" + parallelism + ", bare", base.score, "bare Flow.map"));
        bars.add(new Report.Bar(work + ", P=" + parallelism + ", window", win.score, "window + checkpointer"));
      }
    }
    md.append("\n![events per second](img/window-overhead.svg)\n");
    Report.barChart("window-overhead.svg", "Events per second: bare Flow.map vs. the window (higher is better)", "ev/s", bars);
    Report.writeSection("window", md + "\n" + WindowAnalysis.TEXT);
    System.out.println(md);
  }

  private record Measured(double score, double error, double allocated) {}

  /** Bytes allocated per operation, from JMH's GC profiler (its results are raw-typed). */
  @SuppressWarnings("rawtypes")
  static double allocatedPerOperation(RunResult result) {
    for (Map.Entry<String, org.openjdk.jmh.results.Result> entry : result.getSecondaryResults().entrySet()) {
      if (entry.getKey().endsWith("gc.alloc.rate.norm")) return entry.getValue().getScore();
    }
    return Double.NaN;
  }
}
