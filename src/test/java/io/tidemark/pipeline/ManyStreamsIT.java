package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.tidemark.Await;
import io.tidemark.PipelineTestBase;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Many streams on one actor system, each built from the MongoDB URI as {@code tidemark run} builds
 * them, idle once each has read one event: they share the deployment's clients, so the threads do
 * not grow with the number of streams (the shared reactive client has I/O threads of its own: the
 * JDK's shared pool would grow with the replies that arrive at once), and the sockets grow by at
 * most one per stream (the connection its cursor's waiting getMore holds: MongoDB's
 * protocol does not multiplex) beside the clients' monitors and the heartbeat probes' pool. Each stream used to open two clients
 * of its own: about six threads and six sockets per stream. Counts, not timings; the figures are
 * printed for docs/benchmarks.md.
 */
class ManyStreamsIT extends PipelineTestBase {
  private static final String DB = "many";
  /** A reactive and a synchronous client: a server monitor, a round-trip timer and a pool maintenance timer each. */
  private static final int SHARED_DRIVER_THREADS = 6;
  /**
   * Threads the streams may add in all, whatever their number: the Akka dispatchers' pools grown to
   * their size (8 and 16 here), the shared clients' driver threads and their I/O threads.
   */
  private static final int SHARED_THREADS = 40;
  /**
   * Sockets beside one per stream: the shared clients' monitoring connections (a monitor and a
   * round-trip timer each), and the synchronous client's pool, a connection per heartbeat probe in
   * flight, which run on the blocking dispatcher (16 threads).
   */
  private static final int SHARED_SOCKETS = 4 + 16;

  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient writer = MongoClients.create(mongo.connectionString());
  private final InMemoryCheckpointStore checkpoints = InMemoryCheckpointStore.create();

  @AfterAll
  void shutdown() {
    writer.close();
    mongo.close();
  }

  @Test
  void fiftyAndAHundredIdleStreamsShareTheDeploymentsClients() throws Exception {
    writer.getDatabase(DB).getCollection("warm-up").insertOne(new Document("_id", 0));
    Figures before = Figures.now(mongo.port());
    assertThat(before.sockets).as("the writer's connections, read from /proc/net/tcp").isPositive();

    List<PipelineControl> streams = new ArrayList<>();
    startIdleStreams(streams, 50);
    Figures fifty = Figures.now(mongo.port());
    startIdleStreams(streams, 100);
    Figures hundred = Figures.now(mongo.port());
    System.out.printf(Locale.ROOT, "many streams: before %s; 50 streams %s; 100 streams %s%n", before, fifty, hundred);

    assertThat(io.tidemark.connection.SharedMongoClients.get(system()).openDeployments()).as("one deployment's clients").isEqualTo(1);
    assertThat(fifty.driverThreads - before.driverThreads)
        .as("the driver's threads added by 50 streams (before: %s; 50 streams: %s)", before, fifty)
        .isLessThanOrEqualTo(SHARED_DRIVER_THREADS);
    assertThat(hundred.driverThreads).as("the driver's threads from 50 to 100 streams").isEqualTo(fifty.driverThreads);
    assertThat(fifty.threads - before.threads).as("threads added by 50 streams (before: %s; 50 streams: %s)", before, fifty)
        .isLessThanOrEqualTo(SHARED_THREADS);
    assertThat(hundred.threads - before.threads).as("threads added by 100 streams (before: %s; 100 streams: %s)", before, hundred)
        .isLessThanOrEqualTo(SHARED_THREADS);
    assertThat(fifty.sockets - before.sockets).as("sockets to the server from 50 streams (before: %s; 50 streams: %s)", before, fifty)
        .isLessThanOrEqualTo(50 + SHARED_SOCKETS);
    assertThat(hundred.sockets - before.sockets).as("sockets to the server from 100 streams (before: %s; 100 streams: %s)", before, hundred)
        .isLessThanOrEqualTo(100 + SHARED_SOCKETS);

    for (PipelineControl stream : streams) stream.drainAndStop().toCompletableFuture().get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    // A stopped pipeline releases its lease as its completion's callbacks run, which may be just after drainAndStop completes.
    Await.until(Duration.ofSeconds(30), () -> io.tidemark.connection.SharedMongoClients.get(system()).openDeployments() == 0,
        () -> "the clients closed with the last stream");
    Await.until(Duration.ofSeconds(30), () -> sockets() <= before.sockets + 1,
        () -> "the streams' sockets closed: " + sockets() + " open, " + before.sockets + " before the streams");
  }

  private int sockets() {
    try {
      return connectionsTo(mongo.port());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** Starts streams until there are {@code total}, each on its own collection, and waits until each has read one event. */
  private void startIdleStreams(List<PipelineControl> streams, int total) {
    int first = streams.size();
    for (int i = first; i < total; i++) {
      streams.add(run(Pipeline.named("many-" + i)
          .mongoUri(mongo.connectionString())
          .collection(DB, "c" + i)
          .checkpoints(checkpoints)
          .map(event -> event)));
    }
    for (PipelineControl stream : streams) stream.stats().started().toCompletableFuture().join();
    for (int i = first; i < total; i++) writer.getDatabase(DB).getCollection("c" + i).insertOne(new Document("_id", "one"));
    Await.until(Duration.ofSeconds(120), () -> streams.stream().allMatch(s -> s.stats().window().completed() >= 1),
        () -> "every stream has read its one event");
  }

  /**
   * Live threads on the client's side (the JVM's, without the embedded server's, which a
   * deployment runs elsewhere), of them the MongoDB driver's (by the names it gives them), and
   * established TCP connections to the server's port from this machine.
   */
  record Figures(int threads, int driverThreads, int sockets, java.util.Map<String, Long> byName) {
    static Figures now(int port) throws IOException {
      List<String> names = Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
          .filter(name -> !name.startsWith("mongo-server-") && !name.startsWith("tidemark-embedded")).toList();
      int driver = (int) names.stream().filter(name -> DRIVER_THREADS.stream().anyMatch(name::startsWith)).count();
      java.util.Map<String, Long> byName = names.stream().collect(java.util.stream.Collectors.groupingBy(
          name -> name.replaceAll("\\{.*}", "").replaceAll("[0-9]+", "N"), java.util.TreeMap::new, java.util.stream.Collectors.counting()));
      return new Figures(names.size(), driver, connectionsTo(port), byName);
    }

    @Override
    public String toString() {
      return threads + " threads (" + driverThreads + " of the driver), " + sockets + " sockets; threads by name " + byName;
    }
  }

  /** How the MongoDB driver names its threads: server monitors and round-trip timers, pool maintenance, and the rest. */
  private static final List<String> DRIVER_THREADS = List.of("cluster-", "MaintenanceTimer-", "AsyncGetter-", "BufferPoolPruner-");

  /** From /proc/net/tcp and tcp6: sockets in state ESTABLISHED (01) whose remote port is {@code port}. */
  static int connectionsTo(int port) throws IOException {
    String remotePort = String.format(Locale.ROOT, ":%04X", port);
    int count = 0;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path path = Path.of(table);
      if (!Files.isReadable(path)) continue;
      for (String line : Files.readAllLines(path)) {
        String[] fields = line.trim().split("\\s+");
        if (fields.length > 3 && fields[2].endsWith(remotePort) && fields[3].equals("01")) count++;
      }
    }
    return count;
  }
}
