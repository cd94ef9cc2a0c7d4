package io.tidemark.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.tidemark.Databases;
import io.tidemark.source.ChangeStreamTarget;
import io.tidemark.source.CursorProbe;
import io.tidemark.source.OplogMonitor;
import io.tidemark.source.ResumePosition;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * The headline end-to-end benchmark, measured from outside: the embedded MongoDB in a process of
 * its own (the {@code mongo} command, pinned to core 0 with {@code taskset}), each consumer in a
 * JVM of its own pinned to core 1 ({@link EndToEndConsumer}), ~1 KB inserts pre-written, read
 * from the first by each consumer in turn, round after round (the order reversed every other
 * round), each after warm passes of its own. Per consumer: events/s, its own CPU and allocation
 * per event, and the server's CPU per event, from {@code /proc}. Beside it, what one oplog-monitor
 * sample and one heartbeat probe cost the server, on a small oplog and on the full one.
 */
final class ProcessEndToEndBenchmark {
  private ProcessEndToEndBenchmark() {}

  static final int NOTE_BYTES = 950;
  /**
   * Unmeasured passes before the measured one. One pass of 20,000 events left the JIT compilers busy through the measured
   * pass (C2 threads 22 µs of the bare driver's 38 µs per event, 35 of Tidemark's 58); two of 100,000, 1.8 and 6.3 µs.
   */
  static final int WARM_PASSES = Integer.getInteger("bench.e2e.warm", 2);
  static final int COST_CALLS = 300;

  /** A consumer: its label, its kind for {@link EndToEndConsumer}, and whether Tidemark's oplog monitor is on. */
  record Consumer(String label, String kind, boolean monitor) {}

  static final Consumer BARE = new Consumer("(a) bare driver watch()", "bare", false);
  static final Consumer ALPAKKA = new Consumer("(a′) Alpakka MongoSource", "alpakka", false);
  static final Consumer H2 = new Consumer("(b) Tidemark, H2 checkpoints", "h2", true);

  static List<Consumer> consumers(boolean postgres) {
    List<Consumer> consumers = new ArrayList<>(List.of(BARE, ALPAKKA));
    List<Consumer> tidemark = new ArrayList<>();
    tidemark.add(new Consumer("(b′) Tidemark, memory checkpoints", "memory", true));
    tidemark.add(H2);
    if (postgres) tidemark.add(new Consumer("(b) Tidemark, PostgreSQL checkpoints", "postgres", true));
    tidemark.add(new Consumer("(b) Tidemark, MongoDB checkpoints", "mongo", true));
    consumers.addAll(tidemark);
    for (Consumer c : tidemark) consumers.add(new Consumer(c.label() + ", monitor off", c.kind(), false));
    // The plain SQL store on an H2 file, beside (b) with the event-sourced one; with the monitor on only.
    consumers.add(consumers.indexOf(H2) + 1, new Consumer("(b) Tidemark, H2 plain SQL checkpoints", "h2-sql", true));
    return consumers;
  }

  /** One measured pass of one consumer. */
  record Run(Consumer consumer, int round, long events, long nanos, long openToFirstNanos, long cpuNanos, long allocatedBytes,
      long serverNanos, java.util.Map<String, Long> threadNanos) {
    double eventsPerSecond() {
      return (events - 1) * 1e9 / nanos;
    }

    double cpuMicros() {
      return cpuNanos / 1e3 / events;
    }

    double serverMicros() {
      return serverNanos / 1e3 / events;
    }

    double allocatedKilobytes() {
      return allocatedBytes / 1024.0 / events;
    }

    /**
     * Consumer CPU µs per event without its JIT compiler threads: the steady state, which a passage of a few seconds
     * after warm passes still overstates by however much C1/C2 compile during it (more for more code, and for code that
     * runs once per checkpoint rather than per event, which reaches C2 only after many passes).
     */
    double steadyMicros() {
      return cpuMicros() - groupMicros("JIT");
    }

    /** CPU µs per event of the consumer's threads of one kind ({@link ThreadCpu#GROUPS}). */
    double groupMicros(String group) {
      return threadNanos.entrySet().stream().filter(e -> ThreadCpu.group(e.getKey()).equals(group)).mapToLong(java.util.Map.Entry::getValue)
          .sum() / 1e3 / events;
    }
  }

  /** Server CPU per call of each probe, at one oplog size. */
  record Cost(long oplogEntries, double pingMicros, double monitorMicros, double heartbeatMicros) {}

  /** The server process: the mongo command pinned to core 0. */
  record Server(Process process, String uri, Path data) implements AutoCloseable {
    long pid() {
      return process.pid();
    }

    @Override
    public void close() throws java.io.IOException {
      process.destroy();
      try {
        process.waitFor(60, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      EmbeddedBenchmark.deleteTree(data);
    }
  }

  static void run(int events, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    long started = System.nanoTime();
    long tick = clockTickNanos();
    boolean postgres = postgresReachable();
    List<Consumer> consumers = consumers(postgres);
    String only = System.getProperty("bench.e2e.only", "");
    if (!only.isBlank()) {
      // For investigating: only these kinds ("h2" with the monitor on, "h2-off" with it off), and no section written.
      List<String> kinds = List.of(only.split(","));
      consumers.removeIf(c -> !kinds.contains(c.monitor() || c.kind().equals("bare") || c.kind().equals("alpakka") ? c.kind() : c.kind() + "-off"));
    }
    System.out.printf("== e2e: the server in its own process (core 0), each consumer in its own JVM (core 1); %,d events of ~1 KB,%n"
        + "   %d rounds of %d consumers, %d warm pass(es) each%s%n", events, rounds, consumers.size(), WARM_PASSES,
        postgres ? "" : " (PostgreSQL is not reachable: not measured)");
    List<Run> runs = new ArrayList<>();
    List<Cost> costs = new ArrayList<>();
    CpuProfile.Summary bareProfile;
    CpuProfile.Summary tidemarkProfile;
    try (Server server = startServer(); MongoClient sync = MongoClients.create(server.uri())) {
      System.out.println("server: " + server.uri() + " (pid " + server.pid() + ")");
      BenchEvents.insert(sync, -1_000, 1_000, NOTE_BYTES);
      costs.add(costs(server, sync, tick));
      System.out.printf("writing %,d events%n", events);
      BenchEvents.insert(sync, 0, events, NOTE_BYTES);
      costs.add(costs(server, sync, tick));
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      for (int round = 1; round <= rounds; round++) {
        List<Consumer> order = new ArrayList<>(consumers);
        if (round % 2 == 0) java.util.Collections.reverse(order);
        for (Consumer consumer : order) {
          // -Dbench.e2e.jfr=<dir>: keep a recording of every measured pass there, for investigating.
          String jfr = System.getProperty("bench.e2e.jfr", "");
          Path recording = jfr.isBlank() ? null
              : Files.createDirectories(Path.of(jfr)).resolve(consumer.kind() + (consumer.monitor() ? "" : "-off") + "-" + round + ".jfr");
          runs.add(print(consume(server, consumer, from, events, round, tick, recording)));
        }
      }
      if (!only.isBlank()) return;
      System.out.println("profiling one more pass of (a) and of (b) with Java Flight Recorder");
      bareProfile = profile(server, BARE, from, events, tick);
      tidemarkProfile = profile(server, H2, from, events, tick);
    }
    String md = ProcessEndToEndAnalysis.section(events, rounds, consumers, runs, costs, bareProfile, tidemarkProfile,
        Report.conditions(loadBefore, Report.loadAverage()), postgres, System.nanoTime() - started);
    ProcessEndToEndAnalysis.charts(consumers, runs);
    Report.writeSection("e2e-process", md);
    System.out.println(md);
  }

  private static Server startServer() throws Exception {
    Path data = Files.createTempDirectory("tidemark-bench-e2e-server");
    Path log = data.resolve("mongo.log");
    List<String> command = new ArrayList<>(List.of("taskset", "-c", "0", java(), "-cp", System.getProperty("java.class.path"),
        "io.tidemark.cli.Main", "mongo", "--data", data.resolve("db").toString(), "--port", "0", "--h2-port", "0"));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      return new Server(process, awaitMongoUri(process, log, java.time.Duration.ofMinutes(2)), data);
    } catch (IllegalStateException e) {
      process.destroy();
      throw e;
    }
  }

  /** The URI the {@code mongo} command prints once it listens, read from its log; fails if it dies or the time runs out. */
  static String awaitMongoUri(Process server, Path log, java.time.Duration timeout) throws Exception {
    Pattern listening = Pattern.compile("MongoDB:\\s+(mongodb://\\S+)");
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Matcher matcher = listening.matcher(Files.readString(log));
      if (matcher.find()) return matcher.group(1);
      if (!server.isAlive() || System.nanoTime() > deadline) throw new IllegalStateException("the mongo command did not start: " + Files.readString(log));
      Thread.sleep(100);
    }
  }

  private static String java() {
    return ProcessHandle.current().info().command().orElse("java");
  }

  /** Runs one consumer JVM on core 1 and reads its result line. */
  static Run consume(Server server, Consumer consumer, BsonTimestamp from, int events, int round, long tick, Path recording) throws Exception {
    List<String> command = new ArrayList<>(List.of("taskset", "-c", "1", java(), "-XX:+UnlockDiagnosticVMOptions", "-XX:+DebugNonSafepoints",
        "-cp", System.getProperty("java.class.path"), EndToEndConsumer.class.getName(), consumer.kind(), server.uri(),
        Long.toString(from.getValue()), Integer.toString(events), Integer.toString(WARM_PASSES), Long.toString(server.pid()),
        Boolean.toString(consumer.monitor())));
    if (recording != null) command.add(recording.toString());
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    String result = null;
    java.util.Map<String, Long> threads = new java.util.TreeMap<>();
    List<String> output = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        if (line.startsWith(EndToEndConsumer.RESULT + " ")) result = line;
        else if (line.startsWith(EndToEndConsumer.THREAD + " ")) {
          String[] f = line.split(" ");
          threads.put(f[1], Long.parseLong(f[2]));
        }
        else if (output.size() < 200) output.add(line);
      }
    }
    if (!process.waitFor(10, TimeUnit.MINUTES) || process.exitValue() != 0 || result == null) {
      process.destroyForcibly();
      throw new IllegalStateException(consumer.label() + " failed:\n" + String.join("\n", output));
    }
    String[] f = result.split(" ");
    return new Run(consumer, round, Long.parseLong(f[1]), Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4]),
        Long.parseLong(f[5]), Long.parseLong(f[6]) * tick, threads);
  }

  private static CpuProfile.Summary profile(Server server, Consumer consumer, BsonTimestamp from, int events, long tick) throws Exception {
    Path file = Files.createTempFile("tidemark-bench-e2e-" + consumer.kind() + "-", ".jfr");
    try {
      Run run = print(consume(server, consumer, from, events, 0, tick, file));
      return CpuProfile.summarize(file, run.cpuNanos());
    } finally {
      Files.deleteIfExists(file);
    }
  }

  private static Run print(Run run) {
    System.out.printf(Locale.ROOT, "round %d %-52s %,9.0f events/s  consumer %.1f µs/event (%.1f without JIT), server %.1f µs/event, %.1f KB/event,"
            + " opened to first event %,d ms%n", run.round(), run.consumer().label(), run.eventsPerSecond(), run.cpuMicros(), run.steadyMicros(),
        run.serverMicros(), run.allocatedKilobytes(), run.openToFirstNanos() / 1_000_000);
    StringBuilder groups = new StringBuilder("    threads, µs/event:");
    for (String group : ThreadCpu.GROUPS) groups.append(String.format(Locale.ROOT, " %s %.1f,", group, run.groupMicros(group)));
    System.out.println(groups);
    if (Boolean.getBoolean("bench.e2e.threads")) {
      run.threadNanos().entrySet().stream().sorted(java.util.Map.Entry.<String, Long>comparingByValue().reversed()).limit(12)
          .forEach(e -> System.out.printf(Locale.ROOT, "      %-60s %6.2f µs/event  [%s]%n", e.getKey(), e.getValue() / 1e3 / run.events(),
              ThreadCpu.group(e.getKey())));
    }
    return run;
  }

  /**
   * What the server process spends on one ping (the floor of a round trip), one oplog-monitor
   * sample ({@link OplogMonitor#read}), and one heartbeat probe of a quiet collection
   * ({@link CursorProbe}, from the newest entry), each the average of {@link #COST_CALLS} calls
   * one after the other, after as many unmeasured.
   */
  static Cost costs(Server server, MongoClient sync, long tick) throws Exception {
    long entries = sync.getDatabase("local").getCollection("oplog.rs").estimatedDocumentCount();
    try (com.mongodb.reactivestreams.client.MongoClient reactive = com.mongodb.reactivestreams.client.MongoClients.create(server.uri())) {
      Document newest = sync.getDatabase("local").getCollection("oplog.rs").find()
          .sort(new Document("$natural", -1)).limit(1).first();
      ResumePosition at = new ResumePosition.StartAtOperationTime(newest.get("ts", BsonTimestamp.class));
      CursorProbe probe = new CursorProbe(sync, ChangeStreamTarget.collection(BenchEvents.DATABASE, "quiet"), List.of());
      Call ping = () -> sync.getDatabase("admin").runCommand(new Document("ping", 1));
      Call monitor = () -> OplogMonitor.read(reactive, null).toCompletableFuture().get(30, TimeUnit.SECONDS);
      Call heartbeat = () -> probe.positionAfter(at, List.of(), null);
      Cost cost = new Cost(entries, serverMicros(server, ping, tick), serverMicros(server, monitor, tick), serverMicros(server, heartbeat, tick));
      System.out.printf(Locale.ROOT, "server CPU per call with %,d oplog entries: ping %.0f µs, monitor sample %.0f µs, heartbeat probe %.0f µs%n",
          entries, cost.pingMicros(), cost.monitorMicros(), cost.heartbeatMicros());
      return cost;
    }
  }

  interface Call {
    Object call() throws Exception;
  }

  private static double serverMicros(Server server, Call call, long tick) throws Exception {
    for (int i = 0; i < COST_CALLS; i++) call.call();
    long before = EndToEndConsumer.processTicks(server.pid());
    for (int i = 0; i < COST_CALLS; i++) call.call();
    long after = EndToEndConsumer.processTicks(server.pid());
    return (after - before) * tick / 1e3 / COST_CALLS;
  }

  /** Nanoseconds per clock tick of {@code /proc/<pid>/stat} (USER_HZ, 100 almost everywhere). */
  static long clockTickNanos() {
    try {
      Process getconf = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
      String hz = new String(getconf.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
      getconf.waitFor(10, TimeUnit.SECONDS);
      return 1_000_000_000L / Long.parseLong(hz);
    } catch (Exception e) {
      return 10_000_000L;
    }
  }

  private static boolean postgresReachable() {
    try (Connection connection = DriverManager.getConnection(Databases.PG_URL, Databases.PG_USER, Databases.PG_PASSWORD)) {
      return connection.isValid(2);
    } catch (java.sql.SQLException e) {
      return false;
    }
  }

  static Stats of(List<Run> runs, Consumer consumer, ToDoubleFunction<Run> f) {
    return Stats.of(runs.stream().filter(r -> r.consumer().equals(consumer)).mapToDouble(f).toArray());
  }

  /** {@code f(b) / f(a)} round by round, where both ran. */
  static Stats paired(List<Run> runs, Consumer b, Consumer a, ToDoubleFunction<Run> f) {
    List<Double> ratios = new ArrayList<>();
    for (Run rb : runs) {
      if (!rb.consumer().equals(b)) continue;
      runs.stream().filter(ra -> ra.consumer().equals(a) && ra.round() == rb.round()).findFirst()
          .ifPresent(ra -> ratios.add(f.applyAsDouble(rb) / f.applyAsDouble(ra)));
    }
    return Stats.of(ratios);
  }
}
