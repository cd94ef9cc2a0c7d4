package io.tidemark.bench;

import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoCursor;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.OplogMonitor;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.h2.mvstore.MVStore;

/**
 * The embedded MongoDB against the size of its data: n documents in a collection and n entries
 * in its oplog, on a data file, measured through the sync driver from the same JVM. Tidemark's
 * server (atomic commits before each acknowledgement, or once a second) beside mongo-java-server's
 * stock H2 backend (its MVStore commits once a second in the background). Every measurement on a
 * server is bounded by a time budget; one that runs out reports how far it got.
 */
final class EmbeddedBenchmark {
  private EmbeddedBenchmark() {}

  static final int BACKLOG = 10_000;
  static final int WRITES = 2_000;
  static final int WRITERS = 4;

  /** What was measured on one server at one size; NaN: not measured. */
  record Row(String server, int size, double loadPerSecond, double loadedMegabytes, double fileMegabytes, double writesPerSecond,
      double concurrentWritesPerSecond, double eventsPerSecond, double monitorMillis, double firstDocumentMillis, double rangeBatchMillis,
      String notes) {}

  /** A measurement that may fail on a server (mongo-java-server's stock backend can); NaN then, and the failure noted. */
  interface Measurement {
    double run() throws Exception;
  }

  static double attempt(String what, StringBuilder notes, Measurement measurement) {
    try {
      return measurement.run();
    } catch (Exception e) {
      String message = String.valueOf(e.getMessage());
      System.out.println("  " + what + " failed: " + message);
      if (notes.length() > 0) notes.append("; ");
      notes.append(what).append(" failed: ").append(message.length() > 80 ? message.substring(0, 80) + "..." : message);
      return Double.NaN;
    }
  }

  interface Server extends AutoCloseable {
    String uri();

    @Override
    void close();
  }

  static Server tidemark(Path data, boolean commitBeforeAck) {
    EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0,
        EmbeddedSettings.defaults().withCommitBeforeAck(commitBeforeAck).withOplogMaxEntries(100_000_000).withOplogMaxBytes(0));
    return new Server() {
      public String uri() {
        return mongo.connectionString();
      }

      public void close() {
        mongo.close();
      }
    };
  }

  static Server stock(Path data) throws IOException {
    Files.createDirectories(data);
    H2Backend backend = new H2Backend(new MVStore.Builder().fileName(data.resolve("stock.mv.db").toString()).open());
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    server.bind(new InetSocketAddress("127.0.0.1", 0), 1, 8);
    InetSocketAddress address = server.getLocalAddress();
    String uri = "mongodb://" + address.getHostString() + ":" + address.getPort();
    return new Server() {
      public String uri() {
        return uri;
      }

      public void close() {
        server.shutdownNow();
        backend.close();
      }
    };
  }

  static MongoClient client(String uri) {
    return MongoClients.create(uri + "/?retryWrites=false&socketTimeoutMS=900000");
  }

  static Document order(int i) {
    return new Document("_id", i).append("customer", "c" + (i % 1_000)).append("total", i % 10_000).append("status", "new")
        .append("items", List.of(new Document("sku", "s" + (i % 97)).append("qty", 1 + i % 5)));
  }

  /** Inserts n orders in batches of 1,000; returns documents per second. */
  static double load(String uri, int size) {
    try (MongoClient client = client(uri)) {
      MongoCollection<Document> orders = client.getDatabase("bench").getCollection("orders");
      long start = System.nanoTime();
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < size; i++) {
        batch.add(order(i));
        if (batch.size() == 1_000 || i == size - 1) {
          orders.insertMany(batch);
          batch = new ArrayList<>();
        }
        if ((i + 1) % 100_000 == 0) System.out.printf("  loaded %,d%n", i + 1);
      }
      return size * 1e9 / (System.nanoTime() - start);
    }
  }

  /** Single-document updates by _id from {@code threads} clients, {@code WRITES} in all; writes per second. */
  static double writes(String uri, int size, int threads, long budgetNanos) throws InterruptedException {
    try (MongoClient client = client(uri)) {
      MongoCollection<Document> orders = client.getDatabase("bench").getCollection("orders");
      AtomicLong done = new AtomicLong();
      long deadline = System.nanoTime() + budgetNanos;
      List<Thread> writers = new ArrayList<>();
      long start = System.nanoTime();
      for (int t = 0; t < threads; t++) {
        Random random = new Random(t);
        Thread writer = new Thread(() -> {
          for (int i = 0; i < WRITES / threads && System.nanoTime() < deadline; i++) {
            orders.updateOne(Filters.eq("_id", random.nextInt(size)), Updates.combine(Updates.set("status", "paid"), Updates.inc("total", 1)));
            done.incrementAndGet();
          }
        });
        writers.add(writer);
        writer.start();
      }
      for (Thread writer : writers) writer.join();
      return done.get() * 1e9 / (System.nanoTime() - start);
    }
  }

  /** Reads the newest {@code BACKLOG} events (or {@code size}, when fewer) of the collection from a change stream opened before them; events per second. */
  static double changeStream(String uri, int size, long budgetNanos) {
    int backlog = Math.min(BACKLOG, size);
    try (MongoClient client = client(uri)) {
      MongoCollection<Document> oplog = client.getDatabase("local").getCollection("oplog.rs");
      Document from = oplog.find(Filters.eq("ns", "bench.orders")).sort(Sorts.descending("$natural")).skip(backlog - 1).limit(1).first();
      BsonTimestamp time = from.get("ts", BsonTimestamp.class);
      long read = 0;
      long start = System.nanoTime();
      long deadline = start + budgetNanos;
      try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> events =
          client.getDatabase("bench").getCollection("orders").watch().startAtOperationTime(time).batchSize(1_000).cursor()) {
        while (read < backlog && System.nanoTime() < deadline) {
          if (events.tryNext() != null) read++;
        }
      }
      long nanos = System.nanoTime() - start;
      if (read < backlog) System.out.printf("  change stream: %,d of %,d events before the time limit%n", read, backlog);
      return read * 1e9 / nanos;
    }
  }

  /** Median of a few timings of {@code work} in milliseconds; stops repeating when the budget is spent. */
  static double millis(int times, long budgetNanos, Runnable work) {
    List<Double> taken = new ArrayList<>();
    long deadline = System.nanoTime() + budgetNanos;
    for (int i = 0; i < times && (taken.isEmpty() || System.nanoTime() < deadline); i++) {
      long start = System.nanoTime();
      work.run();
      taken.add((System.nanoTime() - start) / 1e6);
    }
    return Stats.of(taken).median();
  }

  static double monitorSample(String uri, long budgetNanos) {
    try (com.mongodb.reactivestreams.client.MongoClient client = com.mongodb.reactivestreams.client.MongoClients.create(uri)) {
      return millis(5, budgetNanos, () -> {
        try {
          OplogMonitor.read(client, null).toCompletableFuture().get(30, TimeUnit.MINUTES);
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
      });
    }
  }

  static double firstDocument(String uri, long budgetNanos) {
    try (MongoClient client = client(uri)) {
      MongoCollection<Document> orders = client.getDatabase("bench").getCollection("orders");
      return millis(5, budgetNanos, () -> {
        try (MongoCursor<Document> cursor = orders.find().iterator()) {
          cursor.next();
        }
      });
    }
  }

  static double rangeBatch(String uri, int size, long budgetNanos) {
    try (MongoClient client = client(uri)) {
      MongoCollection<Document> orders = client.getDatabase("bench").getCollection("orders");
      Random random = new Random(1);
      return millis(10, budgetNanos, () -> {
        int from = random.nextInt(Math.max(1, size - 1_000));
        List<Document> batch = orders.find(Filters.gt("_id", from)).sort(Sorts.ascending("_id")).limit(1_000).batchSize(1_000)
            .into(new ArrayList<>());
        if (batch.size() != Math.min(1_000, size - from - 1)) throw new IllegalStateException("batch of " + batch.size());
      });
    }
  }

  static double megabytes(Path file) throws IOException {
    return Files.size(file) / (1024.0 * 1024);
  }

  /**
   * Resident memory of the {@code mongo} command on a data directory, in MB: {after opening, after
   * reading every document and entry, peak}; with the given JVM options (none: the JVM's defaults).
   */
  static double[] residentMemory(Path data, String... jvmOptions) throws Exception {
    Path log = Files.createTempFile("bench-mongo", ".log");
    List<String> command = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElse("java")));
    command.addAll(List.of(jvmOptions));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"),
        "io.tidemark.cli.Main", "mongo", "--data", data.toString(), "--port", "0", "--h2-port", "0"));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      Pattern listening = Pattern.compile("MongoDB:\\s+(mongodb://\\S+)");
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(10);
      while (!listening.matcher(Files.readString(log)).find()) {
        if (!process.isAlive() || System.nanoTime() > deadline) {
          throw new IllegalStateException("the mongo command did not start: " + Files.readString(log));
        }
        Thread.sleep(100);
      }
      Matcher matcher = listening.matcher(Files.readString(log));
      matcher.find();
      String uri = matcher.group(1);
      double opened = status(process.pid(), "VmRSS");
      try (MongoClient client = client(uri)) {
        long count = 0;
        for (Document ignored : client.getDatabase("bench").getCollection("orders").find().batchSize(1_000)) count++;
        for (Document ignored : client.getDatabase("local").getCollection("oplog.rs").find().batchSize(1_000)) count++;
        System.out.printf("  mongo command read %,d documents and entries%n", count);
      }
      return new double[] {opened, status(process.pid(), "VmRSS"), status(process.pid(), "VmHWM")};
    } finally {
      process.destroy();
      process.waitFor(60, TimeUnit.SECONDS);
      Files.deleteIfExists(log);
    }
  }

  private static double status(long pid, String field) throws IOException {
    for (String line : Files.readAllLines(Path.of("/proc", String.valueOf(pid), "status"))) {
      if (line.startsWith(field + ":")) return Long.parseLong(line.replaceAll("\\D", "")) / 1024.0;
    }
    return Double.NaN;
  }

  static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (var paths = Files.walk(dir)) {
      for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) Files.delete(path);
    }
  }
}
