package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Databases;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointStore;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import jdk.jfr.Recording;
import org.bson.BsonTimestamp;

/**
 * One consumer of the out-of-process end-to-end benchmark, in a JVM of its own
 * ({@link ProcessEndToEndBenchmark} starts it pinned to one core): reads the pre-written events
 * from the server process some warm passes, then once measured, and prints one {@code RESULT}
 * line: the time from the first event to the last, this process's CPU and the bytes its threads
 * allocated over that time, and the server process's CPU ticks over it (from {@code /proc}).
 *
 * <p>Arguments: kind (bare, alpakka, memory, h2, h2-sql, postgres, mongo), uri, the first event's
 * cluster time (as a long), events, warm passes, the server's pid, monitor (true/false), and
 * optionally a file to record the measured pass to with Flight Recorder.
 */
public final class EndToEndConsumer {
  private EndToEndConsumer() {}

  static final String RESULT = "RESULT";
  static final String THREAD = "THREADCPU";

  public static void main(String[] args) throws Exception {
    String kind = args[0];
    String uri = args[1];
    BsonTimestamp from = new BsonTimestamp(Long.parseLong(args[2]));
    int events = Integer.parseInt(args[3]);
    int warmPasses = Integer.parseInt(args[4]);
    long serverPid = Long.parseLong(args[5]);
    boolean monitor = Boolean.parseBoolean(args[6]);
    Path recording = args.length > 7 ? Path.of(args[7]) : null;
    BenchMain.quietPipelineLogs();
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.mongodb")).setLevel(ch.qos.logback.classic.Level.WARN);
    Path dir = Files.createTempDirectory("tidemark-bench-e2e-consumer");
    String schema = kind.equals("postgres") ? Databases.createSchema("tidemark_bench") : null;
    Config config = ConfigFactory.parseString("akka.loglevel = WARNING\ntidemark.oplog.monitor = " + (monitor ? "on" : "off"))
        .withFallback(storeConfig(kind, dir, schema))
        .withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-e2e-consumer", config);
    MongoClient checkpointClient = kind.equals("mongo") ? MongoClients.create(uri) : null;
    int status = 0;
    try {
      CheckpointStore store = store(kind, system, checkpointClient, dir);
      // A recording starts before the last warm pass: starting one loads and compiles enough to keep the JIT compilers busy
      // through a pass, which the measured one should not see.
      Recording jfr = null;
      for (int pass = 1; pass <= warmPasses; pass++) {
        if (recording != null && pass == warmPasses) jfr = startRecording();
        read(kind, new EndToEndBenchmark.Clock(events), system, store, uri, from, pass - warmPasses);
      }
      ThreadCpu.Snapshot[] threads = new ThreadCpu.Snapshot[2];
      EndToEndBenchmark.Clock clock = new EndToEndBenchmark.Clock(events, () -> {
        long[] metered = meter(serverPid);
        threads[threads[0] == null ? 0 : 1] = ThreadCpu.snapshot();
        return metered;
      });
      EndToEndBenchmark.Run run;
      if (recording == null) {
        run = read(kind, clock, system, store, uri, from, 1);
      } else {
        if (jfr == null) jfr = startRecording();
        try (Recording started = jfr) {
          run = read(kind, clock, system, store, uri, from, 1);
          started.stop();
          started.dump(recording);
        }
      }
      long[] first = clock.meteredAtFirst;
      long[] last = clock.meteredAtEnd;
      System.out.printf(Locale.ROOT, "%s %d %d %d %d %d %d%n", RESULT, run.events(), run.firstToLastNanos(), run.openToFirstNanos(),
          last[0] - first[0], last[1] - first[1], last[2] - first[2]);
      ThreadCpu.byName(threads[0], threads[1], ThreadCpu.javaNames())
          .forEach((name, nanos) -> System.out.printf(Locale.ROOT, "%s %s %d%n", THREAD, name, nanos));
    } catch (Exception e) {
      e.printStackTrace();
      status = 1;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      if (checkpointClient != null) checkpointClient.close();
      if (schema != null) Databases.dropSchema(schema);
      EmbeddedBenchmark.deleteTree(dir);
    }
    System.out.flush();
    System.exit(status);
  }

  private static Recording startRecording() {
    Recording jfr = new Recording();
    jfr.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(5));
    jfr.enable("jdk.ObjectAllocationSample").with("throttle", "300/s");
    jfr.start();
    return jfr;
  }

  private static Config storeConfig(String kind, Path dir, String schema) {
    return switch (kind) {
      case "h2" -> TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString());
      case "postgres" -> TestConfigs.journal(Databases.pgUrl(schema), "slick.jdbc.PostgresProfile$", "org.postgresql.Driver",
          Databases.PG_USER, Databases.PG_PASSWORD);
      default -> ConfigFactory.empty();
    };
  }

  private static CheckpointStore store(String kind, ActorSystem<?> system, MongoClient checkpointClient, Path dir) throws Exception {
    return switch (kind) {
      case "bare", "alpakka" -> null;
      case "memory" -> InMemoryCheckpointStore.create();
      case "h2", "postgres" -> {
        JdbcCheckpointStore store = JdbcCheckpointStore.create(system);
        store.ready().toCompletableFuture().get(1, TimeUnit.MINUTES);
        yield store;
      }
      case "mongo" -> MongoCheckpointStore.create(checkpointClient, system);
      case "h2-sql" -> io.tidemark.checkpoint.SqlCheckpointStore.create(io.tidemark.checkpoint.SqlCheckpointSettings.create(
              ConfigFactory.parseString("tidemark.checkpoint.sql.url = \"jdbc:h2:file:"
                  + dir.resolve("sql-checkpoints").toString().replace("\\", "/") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0\"\n"
                  + "tidemark.checkpoint.sql.user = sa").withFallback(system.settings().config())),
          system.dispatchers().lookup(akka.actor.typed.DispatcherSelector.blocking()));
      default -> throw new IllegalArgumentException("unknown consumer '" + kind + "'");
    };
  }

  private static EndToEndBenchmark.Run read(String kind, EndToEndBenchmark.Clock clock, ActorSystem<?> system, CheckpointStore store, String uri,
      BsonTimestamp from, int round) throws Exception {
    return switch (kind) {
      case "bare" -> EndToEndBenchmark.bare(clock, uri, from, round);
      case "alpakka" -> EndToEndBenchmark.alpakka(clock, system, uri, from, round);
      default -> EndToEndBenchmark.pipeline(clock, kind, system, store, uri, from, round, false, null);
    };
  }

  /** This process's CPU nanoseconds, the bytes its live threads have allocated, the server process's CPU ticks. */
  static long[] meter(long serverPid) {
    return new long[] {CpuProfile.processCpuNanos(), allocatedBytes(), processTicks(serverPid)};
  }

  /** Bytes allocated by the live threads (a thread that ended takes its count with it; the ones that read are pooled). */
  static long allocatedBytes() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long total = 0;
    for (long bytes : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) {
      if (bytes > 0) total += bytes;
    }
    return total;
  }

  /** utime + stime of a process, in clock ticks, from {@code /proc/<pid>/stat}. */
  static long processTicks(long pid) {
    try {
      String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
      String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
      // fields[0] is the state (field 3 of stat); utime and stime are fields 14 and 15.
      return Long.parseLong(fields[11]) + Long.parseLong(fields[12]);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }
}
