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

  public static void main(String[] args) throws Exception {
    String which = args.length > 0 ? args[0] : "all";
    if (which.equals("all") || which.equals("window")) window();
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
