package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;

/**
 * Where the consumer's own CPU and memory go, per event and per save (issue 20 c): the costs the
 * end-to-end and checkpoint-cost sections show as steps, taken apart with the JDK Flight Recorder.
 *
 * <ul>
 *   <li>Per event: Alpakka's {@code MongoSource} counting (a′) against a Tidemark pipeline with a
 *       no-op stage and memory checkpoints (b′), the same events read in alternation; process CPU
 *       and bytes allocated by every thread per event (the embedded server's share is the same in
 *       both: the difference is Tidemark's). Then one more run of (b′) under a recording of
 *       execution and allocation samples: the allocations made in Tidemark's frames by the class
 *       allocated and the Tidemark method that allocated it, and the CPU samples in Tidemark's frames.
 *   <li>Per save: saves one after the other to {@code JdbcCheckpointStore} on an H2 file, under a
 *       recording: CPU and bytes allocated per save, and the CPU samples by layer (H2,
 *       akka-persistence, Slick and HikariCP, Jackson, Akka, the entity).
 * </ul>
 */
final class ConsumerCostBenchmark {
  private ConsumerCostBenchmark() {}

  static final int SAVES = 1_000;
  static final int SAVE_ROUNDS = 3;
  static final int SAVE_WARM_UP = 200;

  /** CPU and allocation of one piece of work. */
  record Cost(long cpuNanos, long allocatedBytes, long units) {
    double cpuMicros() {
      return cpuNanos / 1e3 / units;
    }

    double bytes() {
      return (double) allocatedBytes / units;
    }
  }

  /** The median CPU and the median allocation of the rounds (each on its own). */
  static Cost median(List<Cost> costs) {
    long units = costs.get(0).units();
    long cpu = (long) Stats.of(costs.stream().mapToDouble(Cost::cpuNanos).toArray()).median();
    long bytes = (long) Stats.of(costs.stream().mapToDouble(Cost::allocatedBytes).toArray()).median();
    return new Cost(cpu, bytes, units);
  }

  interface Work {
    long run() throws Exception;
  }

  /**
   * The process's CPU and the bytes allocated while {@code work} runs. The bytes are the flight recorder's
   * allocation samples (each weighs what its thread allocated since its previous sample): unlike the threads'
   * own counters, they keep the share of threads that end during the work (a client's I/O threads, closed with it).
   */
  static Cost cost(Work work) throws Exception {
    long[] cpu = new long[2];
    long[] units = new long[1];
    Profile profile = record(false, () -> {
      cpu[0] = CpuProfile.processCpuNanos();
      units[0] = work.run();
      cpu[1] = CpuProfile.processCpuNanos();
      return units[0];
    }, frames -> null, frames -> null);
    return new Cost(cpu[1] - cpu[0], profile.allocated(), units[0]);
  }

  /** A recording's samples: allocation weight and CPU samples per site. */
  record Profile(long cpuSamples, Map<String, Long> cpuSites, Map<String, Long> cpuLayers, long allocated, Map<String, Long> allocSites,
      Map<String, Long> allocLayers) {}

  static Profile record(Work work, java.util.function.Function<List<RecordedFrame>, String> cpuSite,
      java.util.function.Function<List<RecordedFrame>, String> allocSite) throws Exception {
    return record(true, work, cpuSite, allocSite);
  }

  static Profile record(boolean executionSamples, Work work, java.util.function.Function<List<RecordedFrame>, String> cpuSite,
      java.util.function.Function<List<RecordedFrame>, String> allocSite) throws Exception {
    Path file = Files.createTempFile("tidemark-bench-consumer-", ".jfr");
    try {
      try (Recording recording = new Recording()) {
        if (executionSamples) recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(2));
        recording.enable("jdk.ObjectAllocationSample").with("throttle", "5000/s");
        recording.start();
        work.run();
        recording.stop();
        recording.dump(file);
      }
      Map<String, Long> cpuSites = new HashMap<>();
      Map<String, Long> cpuLayers = new HashMap<>();
      Map<String, Long> allocSites = new HashMap<>();
      Map<String, Long> allocLayers = new HashMap<>();
      java.util.Set<Long> sampledThreads = new java.util.HashSet<>();
      long cpuSamples = 0;
      long allocated = 0;
      for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
        if (event.getStackTrace() == null || event.getStackTrace().getFrames().isEmpty()) continue;
        List<RecordedFrame> frames = event.getStackTrace().getFrames();
        String type = event.getEventType().getName();
        if (type.equals("jdk.ExecutionSample")) {
          cpuSamples++;
          cpuLayers.merge(saveLayer(frames), 1L, Long::sum);
          String site = cpuSite.apply(frames);
          if (site != null) cpuSites.merge(site, 1L, Long::sum);
        } else if (type.equals("jdk.ObjectAllocationSample")) {
          long weight = event.getLong("weight");
          // A thread's first sample weighs what it allocated before the recording too (the main thread: the whole set-up).
          var thread = event.getThread("eventThread");
          if (thread == null || sampledThreads.add(thread.getJavaThreadId())) continue;
          allocated += weight;
          allocLayers.merge(CpuProfile.layer(frames), weight, Long::sum);
          String site = allocSite.apply(frames);
          if (site != null) {
            String what = event.getClass("objectClass").getName();
            allocSites.merge(what + " ← " + site, weight, Long::sum);
          }
        }
      }
      return new Profile(cpuSamples, cpuSites, cpuLayers, allocated, allocSites, allocLayers);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  static boolean isTidemark(String type) {
    return type.startsWith("io.tidemark.") && !type.startsWith("io.tidemark.embedded.") && !type.startsWith("io.tidemark.bench.");
  }

  static String frame(RecordedFrame frame) {
    return frame.getMethod().getType().getName().replace("io.tidemark.", "") + "." + frame.getMethod().getName() + ":" + frame.getLineNumber();
  }

  /** The innermost Tidemark frame of a stack (its caller's code when it is a lambda), or null when none. */
  static String tidemarkSite(List<RecordedFrame> frames) {
    for (RecordedFrame frame : frames) {
      if (isTidemark(frame.getMethod().getType().getName())) return frame(frame);
    }
    return null;
  }

  /**
   * Where an allocation on the event path was made: the innermost Tidemark frame; with none on the stack, for an
   * allocation in Akka's code (its interpreter, actors, dispatcher), the innermost Akka frame, marked so.
   */
  static String eventSite(List<RecordedFrame> frames) {
    String tidemark = tidemarkSite(frames);
    if (tidemark != null) return tidemark;
    for (RecordedFrame frame : frames) {
      String type = frame.getMethod().getType().getName();
      if (type.startsWith("java.") || type.startsWith("jdk.") || type.startsWith("sun.")) continue;
      return type.startsWith("akka.") && !type.startsWith("akka.stream.alpakka.") || type.startsWith("scala.") ? "(Akka) " + frame(frame) : null;
    }
    return null;
  }

  /** A CPU sample inside Tidemark's own code: its innermost frame when that is Tidemark's, else null. */
  static String tidemarkTop(List<RecordedFrame> frames) {
    for (RecordedFrame frame : frames) {
      String type = frame.getMethod().getType().getName();
      if (type.startsWith("java.") || type.startsWith("jdk.")) continue;
      return isTidemark(type) ? frame(frame) : null;
    }
    return null;
  }

  /** The layer of a sample on the save path: the innermost frame outside the JDK and Scala's library decides. */
  static String saveLayer(List<RecordedFrame> frames) {
    for (RecordedFrame frame : frames) {
      String type = frame.getMethod().getType().getName();
      if (type.startsWith("java.") || type.startsWith("jdk.") || type.startsWith("sun.") || type.startsWith("scala.")) continue;
      if (type.startsWith("org.h2.mvstore.")) return "H2 MVStore (writing the file)";
      if (type.startsWith("org.h2.")) return "H2 SQL engine";
      if (type.startsWith("slick.") || type.startsWith("com.zaxxer.")) return "Slick and HikariCP";
      if (type.startsWith("akka.persistence.jdbc.")) return "akka-persistence-jdbc";
      if (type.startsWith("akka.persistence.")) return "Akka Persistence";
      if (type.startsWith("akka.serialization.") || type.startsWith("com.fasterxml.")) return "Jackson serialization";
      if (type.startsWith("akka.stream.")) return "Akka Streams";
      if (type.startsWith("akka.")) return "Akka actors and dispatcher";
      if (type.startsWith("io.tidemark.bench.")) return "bench harness";
      if (type.startsWith("io.tidemark.")) return "Tidemark (store, entity)";
      return "other: " + type.substring(0, Math.min(type.length(), 40));
    }
    return "JDK";
  }

  static String top(Map<String, Long> sites, int n, double divisor, String unit) {
    StringBuilder out = new StringBuilder();
    sites.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
        .forEach(e -> out.append(String.format(Locale.ROOT, "  - %s `%s`%n", String.format(Locale.ROOT, unit, e.getValue() / divisor), e.getKey())));
    return out.toString();
  }

  static void run(int events, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    System.out.printf("== consumer: where the consumer's CPU and allocation go, per event (%,d events, %d rounds) and per H2 save (%,d saves)%n",
        events, rounds, SAVES);
    StringBuilder md = new StringBuilder();
    Path dir = Files.createTempDirectory("tidemark-bench-consumer");
    // A loaded machine can take seconds to answer the first ask of an entity: the timeout is not what is measured here.
    Config config = ConfigFactory.parseString("tidemark.checkpoint.jdbc.ask-timeout = 60s")
        .withFallback(TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString()))
        .withFallback(ConfigFactory.parseString("akka.loglevel = WARNING"))
        .withFallback(ConfigFactory.load());
    Executor unused = CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS);
    List<Cost> alpakka = new ArrayList<>();
    List<Cost> tidemark = new ArrayList<>();
    Profile eventProfile;
    Profile alpakkaProfile;
    Profile saveProfile = null;
    Map<String, Cost> saveCosts = new java.util.LinkedHashMap<>();
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(Math.max(500_000L, 2L * events));
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      String uri = mongo.connectionString();
      BenchEvents.insert(sync, 0, events);
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-consumer", config);
      try {
        for (int round = -1; round <= rounds; round++) {
          final int r = round;
          Cost a = cost(() -> EndToEndBenchmark.alpakka(system, uri, from, events, r).events());
          Cost b = cost(() -> EndToEndBenchmark.pipeline(EndToEndBenchmark.NO_OP_MEMORY, system, InMemoryCheckpointStore.create(), uri, from,
              events, r, false, unused).events());
          System.out.printf(Locale.ROOT, "round %d: (a') %.2f µs %,.0f B per event; (b') %.2f µs %,.0f B per event%n",
              round, a.cpuMicros(), a.bytes(), b.cpuMicros(), b.bytes());
          if (round > 0) {
            alpakka.add(a);
            tidemark.add(b);
          }
        }
        alpakkaProfile = record(() -> EndToEndBenchmark.alpakka(system, uri, from, events, rounds + 1).events(), frames -> null, frames -> null);
        eventProfile = record(() -> EndToEndBenchmark.pipeline(EndToEndBenchmark.NO_OP_MEMORY, system, InMemoryCheckpointStore.create(), uri,
            from, events, rounds + 1, false, unused).events(), ConsumerCostBenchmark::tidemarkTop, ConsumerCostBenchmark::eventSite);
        System.out.printf("allocated per event by layer, (a') then (b'):%n%s%s", top(alpakkaProfile.allocLayers(), 10, events, "%,.0f B"),
            top(eventProfile.allocLayers(), 10, events, "%,.0f B"));
        System.out.printf("allocated in Tidemark's frames (or else Akka's), per event (of %,.0f B sampled):%n%s", eventProfile.allocated() / (double) events,
            top(eventProfile.allocSites(), 25, events, "%,.1f B"));
        System.out.printf("CPU samples in Tidemark's code, of %d:%n%s", eventProfile.cpuSamples(), top(eventProfile.cpuSites(), 15, 1, "%.0f"));

        Config base = system.settings().config();
        int configuredEvery = io.tidemark.checkpoint.JdbcCheckpointSettings.create(base).snapshotEvery;
        record Saver(String label, int every, StreamCheckpoints record, java.util.function.IntFunction<Work> saving) {}
        List<Saver> savers = new ArrayList<>();
        for (int every : new int[] {100, 1_000, 1_000_000}) {
          JdbcCheckpointStore store = JdbcCheckpointStore.create(system, io.tidemark.checkpoint.JdbcCheckpointSettings.create(
              ConfigFactory.parseString("tidemark.checkpoint.jdbc.snapshot-every = " + every).withFallback(base)));
          store.ready().toCompletableFuture().get(1, TimeUnit.MINUTES);
          String stream = "consumer-saves-" + every + "-" + Long.toHexString(System.nanoTime());
          StreamCheckpoints record = store.open(stream).toCompletableFuture().get(1, TimeUnit.MINUTES);
          long epoch = record.acquire().toCompletableFuture().get(1, TimeUnit.MINUTES).epoch();
          int seconds = (int) (System.currentTimeMillis() / 1000);
          int[] next = {1};
          java.util.function.IntFunction<Work> saving = n -> () -> {
            for (int i = 0; i < n; i++) {
              BsonTimestamp time = new BsonTimestamp(seconds, next[0]++);
              BsonDocument token = new BsonDocument("_data", new BsonString(String.format("82%016x", time.getValue())));
              record.save(Checkpoint.atToken(stream, token, time), epoch).toCompletableFuture().get(1, TimeUnit.MINUTES);
            }
            return n;
          };
          saving.apply(SAVE_WARM_UP).run();
          String label = every == 1_000_000 ? "entity, no snapshots" : String.format(Locale.ROOT, "entity, a snapshot every %,d saves", every);
          savers.add(new Saver(label, every, record, saving));
        }
        // In rounds, one store after the other in each: the machine's load drifts, and each round of 1,000 saves holds whole snapshot cycles.
        Map<String, List<Cost>> saveRounds = new java.util.LinkedHashMap<>();
        for (int round = 1; round <= SAVE_ROUNDS; round++) {
          for (Saver saver : savers) {
            Cost cost = cost(saver.saving().apply(SAVES));
            saveRounds.computeIfAbsent(saver.label(), label -> new ArrayList<>()).add(cost);
            System.out.printf(Locale.ROOT, "round %d, H2 saves, %s: %.3f ms CPU, %,.0f B per save%n", round, saver.label(), cost.cpuMicros() / 1e3, cost.bytes());
          }
        }
        saveRounds.forEach((label, costs) -> saveCosts.put(label, median(costs)));
        for (Saver saver : savers) {
          if (saver.every() == configuredEvery) saveProfile = record(saver.saving().apply(SAVES), frames -> null, ConsumerCostBenchmark::saveLayerOf);
          saver.record().close().toCompletableFuture().get(1, TimeUnit.MINUTES);
        }
        Cost plain = plainUpserts(dir.resolve("plain").toString());
        saveCosts.put("plain fenced upsert (one JDBC UPDATE, no entity)", plain);
        System.out.printf(Locale.ROOT, "H2 plain upserts: %.3f ms CPU per save%n", plain.cpuMicros() / 1e3);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    }
    double aCpu = Stats.of(alpakka.stream().mapToDouble(Cost::cpuMicros).toArray()).median();
    double bCpu = Stats.of(tidemark.stream().mapToDouble(Cost::cpuMicros).toArray()).median();
    double aBytes = Stats.of(alpakka.stream().mapToDouble(Cost::bytes).toArray()).median();
    double bBytes = Stats.of(tidemark.stream().mapToDouble(Cost::bytes).toArray()).median();
    md.append("### Where the consumer's time goes (JFR)\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=consumer [-Dbench.events=100000] [-Dbench.rounds=5]`. `ConsumerCostBenchmark`: ")
        .append(String.format(Locale.ROOT, "%,d pre-written events read %d times each (after 2 warm-up rounds) by (a′) Alpakka's `MongoSource` ", events, rounds))
        .append("counting and (b′) a Tidemark pipeline with a no-op stage and memory checkpoints, in alternation; the process's CPU and the bytes ")
        .append("allocated, per event (the embedded server's share is in both; Tidemark's source subscribes to the driver itself, so the ")
        .append("difference is Tidemark's source, window, lanes and checkpointer against Alpakka's source alone). ")
        .append("Then one more run of (b′) under a flight recording (execution samples every 2 ms, allocation samples), and ")
        .append(String.format(Locale.ROOT, "%d rounds of %,d saves one after the other to `JdbcCheckpointStore` on an H2 file (`WRITE_DELAY=0`) for each ", SAVE_ROUNDS, SAVES))
        .append("snapshot setting, then one more round of the default under a recording. Bytes allocated are the recordings' allocation samples.\n\n");
    md.append(Report.conditions(loadBefore, Report.loadAverage())).append("\n\n");
    md.append("| consumer | CPU per event, median | allocated per event, median |\n|---|---|---|\n");
    md.append(String.format(Locale.ROOT, "| (a′) Alpakka MongoSource, counting | %.2f µs | %,.0f B |%n", aCpu, aBytes));
    md.append(String.format(Locale.ROOT, "| (b′) Tidemark, no-op, memory checkpoints | %.2f µs | %,.0f B |%n", bCpu, bBytes));
    md.append(String.format(Locale.ROOT, "| b′ − a′: Tidemark's source and stages, over Alpakka's source | %.2f µs | %,.0f B |%n%n", bCpu - aCpu, bBytes - aBytes));
    md.append("Allocation per event by layer (the innermost frame outside the JDK), sampled by the recordings of one more run of each:\n\n");
    md.append("| layer | (a′) | (b′) |\n|---|---|---|\n");
    java.util.Set<String> layers = new java.util.LinkedHashSet<>();
    eventProfile.allocLayers().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(e -> layers.add(e.getKey()));
    layers.addAll(alpakkaProfile.allocLayers().keySet());
    for (String layer : layers) {
      double a = alpakkaProfile.allocLayers().getOrDefault(layer, 0L) / (double) events;
      double b = eventProfile.allocLayers().getOrDefault(layer, 0L) / (double) events;
      if (a >= 20 || b >= 20) md.append(String.format(Locale.ROOT, "| %s | %,.0f B | %,.0f B |%n", layer, a, b));
    }
    md.append("\n");
    md.append(String.format(Locale.ROOT, "Allocated under (b′) in Tidemark's frames, or, with none on the stack, in Akka's (marked so), per event, by class ← "
        + "innermost such method (of %,.0f B per event sampled in all):%n%n", eventProfile.allocated() / (double) events));
    md.append(top(eventProfile.allocSites(), 14, events, "%,.1f B"));
    long tidemarkCpu = eventProfile.cpuSites().values().stream().mapToLong(Long::longValue).sum();
    md.append(String.format(Locale.ROOT, "%nCPU samples in Tidemark's own code (innermost frame): %d of %d (%.1f %%); the top ones:%n%n",
        tidemarkCpu, eventProfile.cpuSamples(), 100.0 * tidemarkCpu / Math.max(1, eventProfile.cpuSamples())));
    md.append(top(eventProfile.cpuSites(), 8, eventProfile.cpuSamples() / 100.0, "%.1f %%"));
    md.append(String.format(Locale.ROOT, "%n**A save to H2**, one after the other: the process's CPU and the bytes allocated per save (the median of %d rounds of %,d saves), with the entity's snapshots as ", SAVE_ROUNDS, SAVES)
        + "configured (`tidemark.checkpoint.jdbc.snapshot-every`), and a plain fenced upsert of one row on the same H2 settings for comparison:\n\n");
    md.append("| save | CPU per save, median | allocated per save |\n|---|---|---|\n");
    saveCosts.forEach((label, cost) -> md.append(String.format(Locale.ROOT, "| %s | %.3f ms | %,.0f B |%n", label, cost.cpuMicros() / 1e3, cost.bytes())));
    md.append(String.format(Locale.ROOT, "%nThe CPU samples of saves as configured by default (a snapshot every %,d), by layer (innermost frame outside the JDK and Scala's library):%n%n",
        ConfigFactory.load().getInt("tidemark.checkpoint.jdbc.snapshot-every")));
    Profile saved = saveProfile;
    md.append("| layer | share of ").append(String.format(Locale.ROOT, "%,d", saved.cpuSamples())).append(" samples |\n|---|---|\n");
    saved.cpuLayers().entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(10)
        .forEach(e -> md.append(String.format(Locale.ROOT, "| %s | %.0f %% |%n", e.getKey(), 100.0 * e.getValue() / saved.cpuSamples())));
    md.append(String.format(Locale.ROOT, "%nAllocated per save, by class ← layer (of %,.0f B sampled):%n%n", saveProfile.allocated() / (double) SAVES));
    md.append(top(saveProfile.allocSites(), 8, SAVES, "%,.0f B"));
    String section = md.toString();
    Report.writeSection("consumer", section);
    System.out.println(section);
  }

  /**
   * What a cheaper save looks like: one row per stream, written by one conditional UPDATE that
   * fences (epoch) and refuses to move back (cluster time), autocommitted on an H2 file with the
   * same {@code WRITE_DELAY=0}; no entity, no journal, no serialization.
   */
  static Cost plainUpserts(String path) throws Exception {
    try (java.sql.Connection connection = java.sql.DriverManager.getConnection("jdbc:h2:file:" + path + ";WRITE_DELAY=0", "sa", "")) {
      try (var ddl = connection.createStatement()) {
        ddl.execute("CREATE TABLE checkpoint (stream VARCHAR(255) PRIMARY KEY, epoch BIGINT NOT NULL, token VARCHAR(4000),"
            + " cluster_time BIGINT, saved_at BIGINT NOT NULL)");
        ddl.execute("INSERT INTO checkpoint VALUES ('plain', 1, NULL, NULL, 0)");
      }
      int seconds = (int) (System.currentTimeMillis() / 1000);
      int[] next = {1};
      java.util.function.IntFunction<Work> saving = n -> () -> {
        try (var update = connection.prepareStatement("UPDATE checkpoint SET token = ?, cluster_time = ?, saved_at = ?"
            + " WHERE stream = ? AND epoch <= ? AND (cluster_time IS NULL OR cluster_time <= ?)")) {
          for (int i = 0; i < n; i++) {
            BsonTimestamp time = new BsonTimestamp(seconds, next[0]++);
            BsonDocument token = new BsonDocument("_data", new BsonString(String.format("82%016x", time.getValue())));
            update.setString(1, token.toJson());
            update.setLong(2, time.getValue());
            update.setLong(3, System.currentTimeMillis());
            update.setString(4, "plain");
            update.setLong(5, 1);
            update.setLong(6, time.getValue());
            if (update.executeUpdate() != 1) throw new IllegalStateException("the fenced update was refused");
          }
        }
        return n;
      };
      saving.apply(SAVE_WARM_UP).run();
      List<Cost> costs = new ArrayList<>();
      for (int round = 1; round <= SAVE_ROUNDS; round++) costs.add(cost(saving.apply(SAVES)));
      return median(costs);
    }
  }

  static String saveLayerOf(List<RecordedFrame> frames) {
    return saveLayer(frames);
  }
}
