package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.typesafe.config.ConfigFactory;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.StartupMode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.Document;

/**
 * The snapshot's copy rate against a bare driver {@code find()} loop over the same collection, in the
 * same run, with the embedded server in its own process (the {@code mongo} command) so that the
 * figures are the consumer's: a snapshot-only pipeline (no-op stage, in-memory checkpoints) with
 * parallelism C = 1, 2, 4, 8.
 */
final class SnapshotBenchmark {
  private SnapshotBenchmark() {}

  private static final String DB = "bench";
  private static final String COLLECTION = "snapshot";
  private static final int[] PARALLELISM = {1, 2, 4, 8};

  /**
   * One timed copy: documents per second from the start to the last document, and after the first one (the split excluded);
   * the consumer's process CPU per document (the server runs in its own process), which the load moves less than the rates.
   */
  record Run(double perSecond, double perSecondAfterFirst, double firstSeconds, double cpuMicros, double serverCpuMicros) {}

  /** A bare {@code find()}: documents per second, the consumer's CPU per document and the server's. */
  record Find(double perSecond, double cpuMicros, double serverCpuMicros) {}

  /** The server process (its CPU is read from /proc) and the length of a clock tick. */
  private static long serverPid;
  private static long tickNanos;

  private static double serverCpuNanos() {
    return (double) EndToEndConsumer.processTicks(serverPid) * tickNanos;
  }

  static void run(int documents, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    Path data = Files.createTempDirectory("bench-snapshot");
    Path log = Files.createTempFile("bench-snapshot-mongo", ".log");
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), "io.tidemark.cli.Main", "mongo", "--data", data.toString(), "--port", "0", "--h2-port", "0"));
    Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    serverPid = server.pid();
    tickNanos = ProcessEndToEndBenchmark.clockTickNanos();
    List<List<Run>> copies = new ArrayList<>();
    List<Find> finds = new ArrayList<>();
    ConsumerCostBenchmark.Profile profile = null;
    long chunkSize = Math.max(1, documents / 16);
    try {
      String uri = ProcessEndToEndBenchmark.awaitMongoUri(server, log, java.time.Duration.ofMinutes(5));
      try (MongoClient client = MongoClients.create(uri)) {
        MongoCollection<Document> collection = client.getDatabase(DB).getCollection(COLLECTION);
        String pad = "x".repeat(100);
        long insertStart = System.nanoTime();
        List<Document> batch = new ArrayList<>();
        for (int i = 0; i < documents; i++) {
          batch.add(new Document("_id", i).append("customer", "c" + (i % 977)).append("total", i % 1000).append("pad", pad));
          if (batch.size() == 1_000) {
            collection.insertMany(batch);
            batch = new ArrayList<>();
          }
        }
        if (!batch.isEmpty()) collection.insertMany(batch);
        System.out.printf(Locale.ROOT, "snapshot: %,d documents inserted in %.1f s%n", documents, (System.nanoTime() - insertStart) / 1e9);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-snapshot", ConfigFactory.load());
        try {
          System.out.println("warm-up:");
          bareFind(collection, documents);
          copy(system, uri, documents, 4, chunkSize, "warm-up");
          for (int parallelism : PARALLELISM) copies.add(new ArrayList<>());
          for (int round = 0; round < rounds; round++) {
            finds.add(bareFind(collection, documents));
            for (int i = 0; i < PARALLELISM.length; i++) copies.get(i).add(copy(system, uri, documents, PARALLELISM[i], chunkSize, "r" + round));
          }
          // One more copy with C = 1 under a flight recording: where the consumer's CPU and allocations per document go.
          profile = ConsumerCostBenchmark.record(() -> {
            copy(system, uri, documents, 1, chunkSize, "profiled");
            return documents;
          }, SnapshotBenchmark::site, SnapshotBenchmark::site);
          printProfile(profile, documents);
        } finally {
          system.terminate();
          system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
        }
      }
    } finally {
      server.destroy();
      server.waitFor(60, TimeUnit.SECONDS);
      Files.deleteIfExists(log);
      EmbeddedBenchmark.deleteTree(data);
    }
    write(documents, rounds, chunkSize, finds, copies, profile, loadBefore, Report.loadAverage());
  }

  /**
   * Who a sample is spent for: the innermost Tidemark frame (the code that asked for the work, driver and
   * BSON calls included), else the layer (Akka's stream machinery, the driver's reading thread).
   */
  static String site(List<jdk.jfr.consumer.RecordedFrame> frames) {
    String tidemark = ConsumerCostBenchmark.tidemarkSite(frames);
    return tidemark != null ? tidemark : "(" + CpuProfile.layer(frames) + ")";
  }

  private static void printProfile(ConsumerCostBenchmark.Profile profile, int documents) {
    System.out.printf(Locale.ROOT, "  profiled C = 1: %d CPU samples, %.0f bytes allocated per document%n", profile.cpuSamples(),
        (double) profile.allocated() / documents);
    System.out.println("  CPU by layer (innermost non-JDK frame):");
    top(profile.cpuLayers(), profile.cpuSamples(), 10);
    System.out.println("  CPU by site (innermost Tidemark frame, else the layer):");
    top(profile.cpuSites(), profile.cpuSamples(), 25);
    System.out.println("  allocations by class and site:");
    top(profile.allocSites(), profile.allocated(), 20);
  }

  private static void top(java.util.Map<String, Long> counts, long total, int n) {
    counts.entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
        .forEach(e -> System.out.printf(Locale.ROOT, "    %5.1f %%  %s%n", 100.0 * e.getValue() / Math.max(1, total), e.getKey()));
  }



  /** A bare driver loop: {@code find()} in batches of 1,000, every document read; documents per second. */
  private static Find bareFind(MongoCollection<Document> collection, int documents) {
    long start = System.nanoTime();
    long cpuStart = CpuProfile.processCpuNanos();
    double serverStart = serverCpuNanos();
    long read = 0;
    for (Document ignored : collection.find().batchSize(1_000)) read++;
    Find find = new Find(read / ((System.nanoTime() - start) / 1e9), (CpuProfile.processCpuNanos() - cpuStart) / 1e3 / documents,
        (serverCpuNanos() - serverStart) / 1e3 / documents);
    if (read != documents) throw new IllegalStateException("find() read " + read + " of " + documents);
    System.out.printf(Locale.ROOT, "  bare find(): %,.0f documents/s, %.2f µs of CPU a document (the server's: %.2f µs)%n", find.perSecond(),
        find.cpuMicros(), find.serverCpuMicros());
    return find;
  }

  /** A snapshot-only pipeline with parallelism C, from its start to its completion. */
  private static Run copy(ActorSystem<?> system, String uri, int documents, int parallelism, long chunkSize, String name) throws Exception {
    AtomicLong seen = new AtomicLong();
    AtomicLong firstNanos = new AtomicLong();
    long start = System.nanoTime();
    long cpuStart = CpuProfile.processCpuNanos();
    double serverStart = serverCpuNanos();
    PipelineControl control = Pipeline.named("bench-snapshot-" + parallelism + "-" + name)
        .mongoUri(uri)
        .collection(DB, COLLECTION)
        .checkpoints(InMemoryCheckpointStore.create())
        .startup(StartupMode.SNAPSHOT_ONLY)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(1_000).withProgressInterval(Duration.ofMinutes(10))
            .withParallelism(parallelism).withChunkSize(chunkSize))
        .map(event -> {
          if (seen.getAndIncrement() == 0) firstNanos.set(System.nanoTime());
          return event;
        })
        .run(system);
    control.completion().toCompletableFuture().get(10, TimeUnit.MINUTES);
    long end = System.nanoTime();
    double cpuMicros = (CpuProfile.processCpuNanos() - cpuStart) / 1e3 / documents;
    double serverCpuMicros = (serverCpuNanos() - serverStart) / 1e3 / documents;
    if (seen.get() != documents) throw new IllegalStateException("the copy delivered " + seen.get() + " of " + documents);
    Run run = new Run(documents / ((end - start) / 1e9), (documents - 1) / ((end - firstNanos.get()) / 1e9), (firstNanos.get() - start) / 1e9, cpuMicros, serverCpuMicros);
    System.out.printf(Locale.ROOT, "  C = %d: %,.0f documents/s (%,.0f after the first document, which came after %.2f s), %.2f µs of CPU a document"
        + " (the server's: %.2f µs)%n", parallelism, run.perSecond(), run.perSecondAfterFirst(), run.firstSeconds(), run.cpuMicros(), run.serverCpuMicros());
    return run;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private static void write(int documents, int rounds, long chunkSize, List<Find> findRuns, List<List<Run>> copies,
      ConsumerCostBenchmark.Profile profile, double loadBefore, double loadAfter) throws Exception {
    List<Double> finds = findRuns.stream().map(Find::perSecond).toList();
    double find = median(finds);
    double findCpu = median(findRuns.stream().map(Find::cpuMicros).toList());
    double findServerCpu = median(findRuns.stream().map(Find::serverCpuMicros).toList());
    StringBuilder md = new StringBuilder();
    md.append("## Snapshot copy: chunked and parallel against a bare `find()`\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=snapshot [-Dbench.snapshot.documents=500000]`. `SnapshotBenchmark`:\n");
    md.append(String.format(Locale.ROOT, "the embedded server in its own process (`tidemark mongo` on a data directory), %,d documents of about 150\n", documents));
    md.append("bytes; in the same run, in turns, a bare driver loop (`find()`, batches of 1,000, every document read) and a\n");
    md.append("`snapshot-only` pipeline (a no-op stage, in-memory checkpoints, batches of 1,000) copying the collection with\n");
    md.append(String.format(Locale.ROOT, "parallelism C = 1 (one cursor, not chunked), 2, 4 and 8 (chunk size %,d: 16 chunks; the `_id`s are the\n", chunkSize));
    md.append("integers 0 to n - 1, so they are split evenly by value, with no read). Rates are the median of " + rounds + " rounds after a warm-up;\n");
    md.append("*copy* counts from the pipeline's start (first checkpoint, split, ...) to its last document, *after the first* from its\n");
    md.append("first document on. The ratio is the median, over the rounds, of the copy's rate against the bare `find()` of the same\n");
    md.append("round (the load moves from round to round; the spread is in the chart's whiskers). *CPU* is the process CPU time per\n");
    md.append("document of the consumer (this JVM) and of the server (its own process, from `/proc`, in clock ticks), median of the\n");
    md.append("rounds: it moves less with the load than the rates do.\n\n");
    md.append(Report.conditions(loadBefore, loadAfter)).append("\n\n");
    md.append("| reader | documents/s | after the first document | first document after | copy / bare `find()` | consumer CPU a document"
        + " | server CPU a document |\n|---|---|---|---|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| bare `find()` | %,.0f (%,.0f–%,.0f) | | | 1.00 | %.2f µs | %.2f µs |%n", find, Collections.min(finds),
        Collections.max(finds), findCpu, findServerCpu));
    List<Report.Bar> bars = new ArrayList<>();
    bars.add(new Report.Bar("bare find()", find, "driver", Collections.min(finds), Collections.max(finds)));
    for (int i = 0; i < PARALLELISM.length; i++) {
      List<Run> runs = copies.get(i);
      double rate = median(runs.stream().map(Run::perSecond).toList());
      double after = median(runs.stream().map(Run::perSecondAfterFirst).toList());
      double first = median(runs.stream().map(Run::firstSeconds).toList());
      double cpu = median(runs.stream().map(Run::cpuMicros).toList());
      double serverCpu = median(runs.stream().map(Run::serverCpuMicros).toList());
      List<Double> ratios = new ArrayList<>();
      for (int round = 0; round < runs.size(); round++) ratios.add(runs.get(round).perSecond() / finds.get(round));
      md.append(String.format(Locale.ROOT, "| snapshot, C = %d | %,.0f | %,.0f | %.2f s | **%.2f×** (%.2f–%.2f) | %.2f µs (%.1f× `find()`'s) | %.2f µs (%.1f×) |%n",
          PARALLELISM[i], rate, after, first, median(ratios), Collections.min(ratios), Collections.max(ratios), cpu, cpu / findCpu, serverCpu,
          serverCpu / findServerCpu));
      bars.add(new Report.Bar("snapshot C = " + PARALLELISM[i], rate, "snapshot",
          runs.stream().mapToDouble(Run::perSecond).min().orElse(rate), runs.stream().mapToDouble(Run::perSecond).max().orElse(rate)));
    }
    if (profile != null) {
      md.append(String.format(Locale.ROOT, "%nOne more copy with C = 1 under a flight recording (execution samples every 2 ms, %d samples;"
          + " %,.0f bytes allocated per document): the consumer's CPU by who spent it (the innermost Tidemark frame, the driver"
          + " and BSON work it called included; else the layer):%n%n", profile.cpuSamples(), (double) profile.allocated() / documents));
      profile.cpuSites().entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(8)
          .forEach(e -> md.append(String.format(Locale.ROOT, "- `%s` %.0f %%%n", e.getKey(), 100.0 * e.getValue() / Math.max(1, profile.cpuSamples()))));
    }
    md.append("\n![snapshot copy rate](img/snapshot.svg)\n\n");
    double oneCpu = median(copies.get(0).stream().map(Run::cpuMicros).toList()) + median(copies.get(0).stream().map(Run::serverCpuMicros).toList());
    md.append("On this machine the server (its own process) and the consumer share 2 busy cores: a reader is as fast as the CPU\n");
    md.append("it gets, so the ratio follows the CPU both processes spend per document, the consumer's and the server's together:\n");
    md.append(String.format(Locale.ROOT, "%.2f µs for the bare `find()`, %.2f µs for the copy with C = 1 (%.2f×). The copy costs more on both sides:\n",
        findCpu + findServerCpu, oneCpu, (findCpu + findServerCpu) / oneCpu));
    md.append("the consumer numbers each document, makes it an envelope and passes it through the window, the stage and the\n");
    md.append("completion tracking, where the bare loop only decodes; the server answers a query per batch (`_id` after the last,\n");
    md.append("sorted, limited, in a causally consistent session) where the bare loop has one cursor's `getMore`s. More chunks at\n");
    md.append("once help where a cursor waits for the server — each batch is a query, and C cursors overlap their waits — and the\n");
    md.append("server has cores to answer them; here there are none to spare.\n");
    Report.barChart("snapshot.svg", "Snapshot copy rate against a bare find() (higher is better)", "documents/s", bars);
    Report.writeSection("snapshot", md.toString());
    System.out.println(md);
  }
}
