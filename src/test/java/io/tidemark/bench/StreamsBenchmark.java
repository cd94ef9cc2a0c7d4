package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.typesafe.config.ConfigFactory;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * Many streams per node: 50 and 100 streams on one actor system, idle and then at 10 events/s
 * each, and one stream catching up on a backlog of a million events. Each stream is built from the
 * URI, as {@code tidemark run} builds them, with in-memory checkpoints (their cost is the checkpoint
 * benchmark's). The embedded server runs in the same JVM: its threads are left out of the counts
 * and of the CPU, and so is the writer's thread.
 */
final class StreamsBenchmark {
  private StreamsBenchmark() {}

  private static final String DB = "bench";
  private static final Duration CPU_WINDOW = Duration.ofSeconds(20);
  private static final Duration ACTIVE_WINDOW = Duration.ofSeconds(30);
  private static final int EVENTS_PER_SECOND = 10;
  private static final List<String> DRIVER_THREADS = List.of("cluster-", "MaintenanceTimer-", "AsyncGetter-", "BufferPoolPruner-");
  private static final List<String> NOT_THE_CONSUMERS = List.of("mongo-server-", "tidemark-embedded", "bench-writer");

  /** One look at the process: what the streams hold, and the consumer's CPU over a window (NaN: not measured). */
  record Figures(String what, int threads, int driverThreads, int sockets, long heapBytes, double cpuPercent, String events) {}

  /** One slice of the catch-up: events per second over it, and the heap after the last GC at its end. */
  record Slice(long upTo, double eventsPerSecond, long heapBytes) {}

  static void run(int backlog) throws Exception {
    double loadBefore = Report.loadAverage();
    List<Figures> figures = new ArrayList<>();
    // An idle getMore waits on its connection's event loop: a loop for each of the streams' connections and the writer's.
    EmbeddedSettings settings = EmbeddedSettings.create(
        ConfigFactory.parseString("tidemark.embedded.event-loops = 256").withFallback(ConfigFactory.load())).withCommitBeforeAck(false);
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        MongoClient writer = MongoClients.create(mongo.connectionString())) {
      writer.getDatabase(DB).getCollection("warm-up").insertOne(new Document("_id", 0));
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-streams", ConfigFactory.load());
      try {
        List<PipelineControl> streams = new ArrayList<>();
        figures.add(measure("no stream", mongo.port(), "—"));
        for (int total : new int[] {50, 100}) {
          startIdleStreams(system, mongo, writer, streams, total);
          figures.add(measure(total + " idle streams", mongo.port(), "—"));
          System.out.println(figures.get(figures.size() - 1));
        }
        long before = completed(streams);
        java.util.concurrent.atomic.AtomicLong inserted = new java.util.concurrent.atomic.AtomicLong();
        ScheduledExecutorService clock = Executors.newSingleThreadScheduledExecutor(task -> new Thread(task, "bench-writer"));
        Figures active;
        try {
          clock.scheduleAtFixedRate(() -> {
            for (int i = 0; i < streams.size(); i++) {
              writer.getDatabase(DB).getCollection("c" + i).insertOne(new Document("n", inserted.incrementAndGet()));
            }
          }, 0, 1000 / EVENTS_PER_SECOND, TimeUnit.MILLISECONDS);
          active = measureOver(streams.size() + " streams at " + EVENTS_PER_SECOND + " events/s each", mongo.port(), ACTIVE_WINDOW,
              () -> String.format(Locale.ROOT, "%,d written in %d s (%,.0f/s)", inserted.get(), ACTIVE_WINDOW.toSeconds(),
                  inserted.get() / (double) ACTIVE_WINDOW.toSeconds()));
        } finally {
          clock.shutdown();
          clock.awaitTermination(30, TimeUnit.SECONDS);
        }
        long total = inserted.get();
        boolean read = await(Duration.ofSeconds(120), () -> completed(streams) - before >= total);
        figures.add(new Figures(active.what(), active.threads(), active.driverThreads(), active.sockets(), active.heapBytes(),
            active.cpuPercent(), active.events() + (read ? "; all read" : "; not all read within 2 minutes")));
        System.out.println(figures.get(figures.size() - 1));
        for (PipelineControl stream : streams) stream.drainAndStop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
    List<Slice> slices = catchUp(backlog);
    write(figures, slices, backlog, loadBefore, Report.loadAverage());
  }

  private static void startIdleStreams(ActorSystem<?> system, EmbeddedMongo mongo, MongoClient writer, List<PipelineControl> streams,
      int total) {
    int first = streams.size();
    InMemoryCheckpointStore checkpoints = InMemoryCheckpointStore.create();
    for (int i = first; i < total; i++) {
      streams.add(Pipeline.named("bench-" + i).mongoUri(mongo.connectionString()).collection(DB, "c" + i).checkpoints(checkpoints)
          .map(event -> event).run(system));
    }
    for (PipelineControl stream : streams) stream.stats().started().toCompletableFuture().join();
    for (int i = first; i < total; i++) writer.getDatabase(DB).getCollection("c" + i).insertOne(new Document("_id", "one"));
    await(Duration.ofSeconds(120), () -> streams.stream().allMatch(s -> s.stats().window().completed() >= 1));
  }

  private static long completed(List<PipelineControl> streams) {
    return streams.stream().mapToLong(s -> s.stats().window().completed()).sum();
  }

  private static Figures measure(String what, int port, String events) throws IOException {
    return measureOver(what, port, CPU_WINDOW, () -> events);
  }

  /** The consumer's CPU over {@code window} (the process's, without the server's and the writer's threads), then the counts. */
  private static Figures measureOver(String what, int port, Duration window, java.util.function.Supplier<String> events) throws IOException {
    long processBefore = processCpuNanos();
    long othersBefore = othersCpuNanos();
    long start = System.nanoTime();
    LockSupport.parkNanos(window.toNanos());
    long elapsed = System.nanoTime() - start;
    long consumer = (processCpuNanos() - processBefore) - (othersCpuNanos() - othersBefore);
    List<String> names = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
        .filter(name -> NOT_THE_CONSUMERS.stream().noneMatch(name::startsWith)).toList();
    int driver = (int) names.stream().filter(name -> DRIVER_THREADS.stream().anyMatch(name::startsWith)).count();
    return new Figures(what, names.size(), driver, connectionsTo(port), heapAfterGc(), 100.0 * consumer / elapsed, events.get());
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** CPU of the threads that are not the consumer's (the embedded server's, the writer's). */
  private static long othersCpuNanos() {
    var threads = ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (Thread thread : Thread.getAllStackTraces().keySet()) {
      if (NOT_THE_CONSUMERS.stream().anyMatch(thread.getName()::startsWith)) sum += Math.max(0, threads.getThreadCpuTime(thread.getId()));
    }
    return sum;
  }

  /** The heap in use after a full collection. */
  private static long heapAfterGc() {
    System.gc();
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  /** The heap in use after the latest collection (of any kind), without forcing one. */
  private static long heapAfterLastGc() {
    com.sun.management.GcInfo latest = null;
    for (var gc : ManagementFactory.getGarbageCollectorMXBeans()) {
      if (gc instanceof com.sun.management.GarbageCollectorMXBean sun && sun.getLastGcInfo() != null
          && (latest == null || sun.getLastGcInfo().getEndTime() > latest.getEndTime())) {
        latest = sun.getLastGcInfo();
      }
    }
    if (latest == null) return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    long used = 0;
    for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
      var after = latest.getMemoryUsageAfterGc().get(pool.getName());
      if (pool.getType() == java.lang.management.MemoryType.HEAP && after != null) used += after.getUsed();
    }
    return used;
  }

  /** One stream reading {@code backlog} events written before it started: the rate and the heap per tenth. */
  private static List<Slice> catchUp(int backlog) throws Exception {
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(backlog + 10_000L)
        .withOplogMaxBytes(0);
    List<Slice> slices = new ArrayList<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings); MongoClient writer = MongoClients.create(mongo.connectionString())) {
      BsonTimestamp from = writer.getDatabase(DB).runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);
      String pad = "x".repeat(100);
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < backlog; i++) {
        batch.add(new Document("_id", i).append("pad", pad));
        if (batch.size() == 1_000) {
          writer.getDatabase(DB).getCollection("backlog").insertMany(batch);
          batch = new ArrayList<>();
        }
        if ((i + 1) % 100_000 == 0) System.out.printf(Locale.ROOT, "backlog: %,d written%n", i + 1);
      }
      if (!batch.isEmpty()) writer.getDatabase(DB).getCollection("backlog").insertMany(batch);
      heapAfterGc();
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-backlog", ConfigFactory.load());
      try {
        PipelineControl stream = Pipeline.named("backlog").mongoUri(mongo.connectionString()).collection(DB, "backlog")
            .checkpoints(InMemoryCheckpointStore.create()).startAtOperationTime(from).map(event -> event).run(system);
        stream.stats().started().toCompletableFuture().get(60, TimeUnit.SECONDS);
        int step = Math.max(1, backlog / 10);
        long sliceStart = System.nanoTime();
        long deadline = System.nanoTime() + Duration.ofMinutes(15).toNanos();
        for (long upTo = step; upTo <= backlog; upTo += step) {
          long target = upTo;
          if (!await(Duration.ofNanos(Math.max(1, deadline - System.nanoTime())), () -> stream.stats().window().completed() >= target)) break;
          long now = System.nanoTime();
          slices.add(new Slice(upTo, step * 1e9 / (now - sliceStart), heapAfterLastGc()));
          System.out.printf(Locale.ROOT, "backlog: %,d read, %,.0f events/s, heap %s%n", upTo, slices.get(slices.size() - 1).eventsPerSecond(),
              mib(slices.get(slices.size() - 1).heapBytes()));
          sliceStart = now;
        }
        stream.drainAndStop().toCompletableFuture().get(60, TimeUnit.SECONDS);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      }
    }
    return slices;
  }

  private static boolean await(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) return false;
      LockSupport.parkNanos(Duration.ofMillis(10).toNanos());
    }
    return true;
  }

  /** From /proc/net/tcp and tcp6: sockets in state ESTABLISHED whose remote port is {@code port}; -1 where there is no /proc. */
  static int connectionsTo(int port) throws IOException {
    String remotePort = String.format(Locale.ROOT, ":%04X", port);
    int count = 0;
    boolean found = false;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path path = Path.of(table);
      if (!Files.isReadable(path)) continue;
      found = true;
      for (String line : Files.readAllLines(path)) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length > 3 && fields[2].endsWith(remotePort) && fields[3].equals("01")) count++;
      }
    }
    return found ? count : -1;
  }

  private static String mib(long bytes) {
    return String.format(Locale.ROOT, "%,.0f MiB", bytes / (1024.0 * 1024));
  }

  private static void write(List<Figures> figures, List<Slice> slices, int backlog, double loadBefore, double loadAfter) throws IOException {
    StringBuilder md = new StringBuilder();
    md.append("## Many streams per node\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=streams [-Dbench.backlog=1000000]`. `StreamsBenchmark`: an\n");
    md.append("in-memory embedded server (256 event loops: an idle getMore waits on its connection's loop) and one actor system in\n");
    md.append("the same JVM; 50, then 100 streams, each built from the URI as\n");
    md.append("`tidemark run` builds them, on its own collection, with in-memory checkpoints (their cost is the checkpoint\n");
    md.append("section's); each reads one event, then idles (heartbeats and the oplog monitor on, the defaults); then a writer inserts\n");
    md.append("into every collection " + EVENTS_PER_SECOND + " times a second for " + ACTIVE_WINDOW.toSeconds() + " s. Threads are the JVM's without the embedded\n");
    md.append("server's (its event loops, its commit thread) and the writer's; the driver's are those it names (`cluster-`,\n");
    md.append("`MaintenanceTimer-`, ...); sockets are the established connections to the server's port (`/proc/net/tcp`); the heap\n");
    md.append("is in use after a full GC (the server's data included); the consumer's CPU is the process's without the server's and\n");
    md.append("the writer's threads (GC and JIT included), over " + CPU_WINDOW.toSeconds() + " s idle or the active window, in % of one core.\n\n");
    md.append(Report.conditions(loadBefore, loadAfter)).append("\n\n");
    md.append("| streams | threads (of the driver) | sockets to the server | heap | consumer CPU | events |\n|---|---|---|---|---|---|\n");
    List<Report.Bar> bars = new ArrayList<>();
    for (Figures f : figures) {
      md.append(String.format(Locale.ROOT, "| %s | %d (%d) | %d | %s | %.1f%% | %s |%n", f.what(), f.threads(), f.driverThreads(), f.sockets(),
          mib(f.heapBytes()), f.cpuPercent(), f.events()));
      bars.add(new Report.Bar(f.what(), f.threads(), "threads"));
      bars.add(new Report.Bar(f.what(), f.sockets(), "sockets"));
    }
    md.append("\n").append(BEFORE).append("\n");
    md.append("![threads and sockets per number of streams](img/streams.svg)\n\n");
    md.append("Cursors: one change stream per stream (its own pipeline and position); a quiet stream's heartbeat opens a\n");
    md.append("short-lived cursor on the synchronous client every `heartbeat.interval` (10 s). A waiting getMore holds a pooled\n");
    md.append("connection for up to `max-await-time` (the embedded server answers after 250 ms at most), so the sockets grow with\n");
    md.append("the cursors waiting at once — at most one per stream: MongoDB's protocol does not multiplex a connection.\n\n");
    md.append(String.format(Locale.ROOT, "### Catching up on %,d events\n\n", backlog));
    md.append(String.format(Locale.ROOT, "One stream, started at the time before %,d inserts of ~130 bytes (one collection, written before the\n", backlog));
    md.append("stream starts), reads them to the end with a no-op stage and in-memory checkpoints. Per tenth: the rate over it,\n");
    md.append("and the heap in use after the latest GC at its end (not forced; the server's data, written before, included).\n\n");
    md.append("| read | events/s over the tenth | heap after the latest GC |\n|---|---|---|\n");
    List<Report.Bar> rates = new ArrayList<>();
    for (Slice slice : slices) {
      md.append(String.format(Locale.ROOT, "| %,d | %,.0f | %s |%n", slice.upTo(), slice.eventsPerSecond(), mib(slice.heapBytes())));
      rates.add(new Report.Bar(String.format(Locale.ROOT, "%,d", slice.upTo()), slice.eventsPerSecond(), "events/s"));
    }
    if (slices.size() < 10) md.append("\n(The read stopped at the time limit, 15 minutes.)\n");
    md.append("\n![catch-up rate per tenth](img/streams-backlog.svg)\n");
    Report.barChart("streams.svg", "Threads and sockets against the number of streams (lower is better)", "", bars);
    Report.barChart("streams-backlog.svg", "Catch-up on a backlog: events/s per tenth (flat is good)", "events/s", rates);
    Report.writeSection("streams", md.toString());
    System.out.println(md);
  }

  /**
   * The same benchmark on the commit before the shared clients (43376a6), where each stream opened
   * a reactive and a synchronous client of its own; kept here as measured then.
   */
  static final String BEFORE = ""
      + "Before the shared clients (commit 43376a6, where each stream opened a reactive and a synchronous client of its own\n"
      + "and sampled the oplog itself), the same benchmark measured 2026-11-30, the one-minute load average 0.0 at the start\n"
      + "and 1.2 at the end:\n"
      + "\n"
      + "| streams | threads (of the driver) | sockets to the server | heap | consumer CPU | events |\n"
      + "|---|---|---|---|---|---|\n"
      + "| no stream | 14 (3) | 2 | 21 MiB | 0.8% | — |\n"
      + "| 50 idle streams | 336 (277) | 344 | 35 MiB | 24.0% | — |\n"
      + "| 100 idle streams | 623 (563) | 681 | 45 MiB | 25.6% | — |\n"
      + "| 100 streams at 10 events/s each | 658 (563) | 700 | 54 MiB | 56.1% | 30,200 written in 30 s (1,007/s); all read |\n"
      + "\n"
      + "So each stream cost about 6 threads (5.6 of the driver's) and 6.8 sockets. With the clients shared per deployment\n"
      + "the threads no longer grow with the streams (46 with 50 or with 100 idle streams: the Akka dispatchers' pools at\n"
      + "their size, the heartbeat probes' blocking pool, the shared clients' 5 driver threads and 2 I/O threads); the\n"
      + "sockets grow by one per stream whose getMore is waiting, beside 4 monitoring connections and the heartbeat probes'\n"
      + "(at most 16 at once). At 10 events/s per stream the consumer's CPU falls from 56% to 37% of a core, of which the\n"
      + "idle polling is 21–26% (each stream's getMore every 250 ms on the embedded server, every second on a mongod), and\n"
      + "the heap by about 9 MiB. `ManyStreamsIT` holds the counts in `mvn verify`: from 50 to 100 idle streams the driver's\n"
      + "threads do not grow, the threads stay within 40 of none and the sockets within one per stream and 20.\n";
}
