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

  /** One timed copy: documents per second from the start to the last document, and after the first one (the split excluded). */
  record Run(double perSecond, double perSecondAfterFirst, double firstSeconds) {}

  static void run(int documents, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    Path data = Files.createTempDirectory("bench-snapshot");
    Path log = Files.createTempFile("bench-snapshot-mongo", ".log");
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java"), "-Xmx1g",
        "-cp", System.getProperty("java.class.path"), "io.tidemark.cli.Main", "mongo", "--data", data.toString(), "--port", "0", "--h2-port", "0"));
    Process server = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    List<List<Run>> copies = new ArrayList<>();
    List<Double> finds = new ArrayList<>();
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
    write(documents, rounds, chunkSize, finds, copies, loadBefore, Report.loadAverage());
  }



  /** A bare driver loop: {@code find()} in batches of 1,000, every document read; documents per second. */
  private static double bareFind(MongoCollection<Document> collection, int documents) {
    long start = System.nanoTime();
    long read = 0;
    for (Document ignored : collection.find().batchSize(1_000)) read++;
    double perSecond = read / ((System.nanoTime() - start) / 1e9);
    if (read != documents) throw new IllegalStateException("find() read " + read + " of " + documents);
    System.out.printf(Locale.ROOT, "  bare find(): %,.0f documents/s%n", perSecond);
    return perSecond;
  }

  /** A snapshot-only pipeline with parallelism C, from its start to its completion. */
  private static Run copy(ActorSystem<?> system, String uri, int documents, int parallelism, long chunkSize, String name) throws Exception {
    AtomicLong seen = new AtomicLong();
    AtomicLong firstNanos = new AtomicLong();
    long start = System.nanoTime();
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
    if (seen.get() != documents) throw new IllegalStateException("the copy delivered " + seen.get() + " of " + documents);
    Run run = new Run(documents / ((end - start) / 1e9), (documents - 1) / ((end - firstNanos.get()) / 1e9), (firstNanos.get() - start) / 1e9);
    System.out.printf(Locale.ROOT, "  C = %d: %,.0f documents/s (%,.0f after the first document, which came after %.2f s)%n",
        parallelism, run.perSecond(), run.perSecondAfterFirst(), run.firstSeconds());
    return run;
  }

  private static double median(List<Double> values) {
    List<Double> sorted = new ArrayList<>(values);
    Collections.sort(sorted);
    return sorted.get(sorted.size() / 2);
  }

  private static void write(int documents, int rounds, long chunkSize, List<Double> finds, List<List<Run>> copies, double loadBefore,
      double loadAfter) throws Exception {
    double find = median(finds);
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
    md.append("round (the load moves from round to round; the spread is in the chart's whiskers).\n\n");
    md.append(Report.conditions(loadBefore, loadAfter)).append("\n\n");
    md.append("| reader | documents/s | after the first document | first document after | copy / bare `find()` |\n|---|---|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| bare `find()` | %,.0f (%,.0f–%,.0f) | | | 1.00 |%n", find, Collections.min(finds), Collections.max(finds)));
    List<Report.Bar> bars = new ArrayList<>();
    bars.add(new Report.Bar("bare find()", find, "driver", Collections.min(finds), Collections.max(finds)));
    for (int i = 0; i < PARALLELISM.length; i++) {
      List<Run> runs = copies.get(i);
      double rate = median(runs.stream().map(Run::perSecond).toList());
      double after = median(runs.stream().map(Run::perSecondAfterFirst).toList());
      double first = median(runs.stream().map(Run::firstSeconds).toList());
      List<Double> ratios = new ArrayList<>();
      for (int round = 0; round < runs.size(); round++) ratios.add(runs.get(round).perSecond() / finds.get(round));
      md.append(String.format(Locale.ROOT, "| snapshot, C = %d | %,.0f | %,.0f | %.2f s | **%.2f×** (%.2f–%.2f) |%n", PARALLELISM[i], rate, after, first,
          median(ratios), Collections.min(ratios), Collections.max(ratios)));
      bars.add(new Report.Bar("snapshot C = " + PARALLELISM[i], rate, "snapshot",
          runs.stream().mapToDouble(Run::perSecond).min().orElse(rate), runs.stream().mapToDouble(Run::perSecond).max().orElse(rate)));
    }
    md.append("\n![snapshot copy rate](img/snapshot.svg)\n\n");
    md.append("On this machine the server (its own process) and the consumer share 2 busy cores: a copy is as fast as the CPU\n");
    md.append("it gets, and the pipeline spends more per document than a bare loop that only decodes (a copied document is\n");
    md.append("numbered, goes through the window, the stage and the completion tracking), so the ratio here is mostly that\n");
    md.append("CPU ratio. More chunks at once help where a cursor waits for the server — each batch is a query, and C\n");
    md.append("cursors overlap their waits — and the server has cores to answer them; here there are none to spare.\n");
    Report.barChart("snapshot.svg", "Snapshot copy rate against a bare find() (higher is better)", "documents/s", bars);
    Report.writeSection("snapshot", md.toString());
    System.out.println(md);
  }
}
