package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Await;
import io.tidemark.TidemarkProcess;
import io.tidemark.cli.Main;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark run} as a user runs it: three file-sink streams (a collection; a database, and the
 * whole deployment, each narrowed to one namespace) over collections being written, the
 * node killed with SIGKILL mid-stream, started again on the same checkpoint database, and an audit
 * of the files against the collection's change stream: every event written, duplicates within the
 * replay bound (window size N + checkpoint interval K).
 */
class RunProcessIT {
  private static final int WINDOW = 100;
  private static final int EVERY = 50;
  private static final int INSERTS = 3_000;

  /** The documents' {@code _id}s the customers stream wrote. */
  private static Set<Integer> customerIds(Path directory) {
    Set<Integer> ids = new HashSet<>();
    if (!Files.isDirectory(directory)) return ids;
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.toList()) {
        for (String line : Files.readAllLines(file)) {
          try {
            ids.add(BsonDocument.parse(line).getInt32("_id").getValue());
          } catch (RuntimeException torn) {
            // a line torn by the kill: its event comes again
          }
        }
      }
    } catch (IOException e) {
      return ids;
    }
    return ids;
  }

  @Test
  void killMinus9ThenRunAgainLosesNoEventAndRepeatsAtMostTheWindow(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    Path out = dir.resolve("out");
    Path customers = dir.resolve("customers");
    Path everywhere = dir.resolve("customers-everywhere");
    int management = io.tidemark.Clusters.freePort();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline { window-size = %d, checkpoint.every-events = %d }
            streams.orders-file {
              source { database = run_db, collection = orders }
              format = relaxed-json
              sink { type = file, directory = "%s", max-size = 64KiB }
            }
            streams.customers-file {
              source { database = run_db, include-namespaces = ["run_db[.]customers"] }
              format = document
              sink { type = file, directory = "%s" }
            }
            # The whole deployment (client.watch()), narrowed to one namespace.
            streams.customers-everywhere {
              source { include-namespaces = ["run_db[.]customers"] }
              format = document
              sink { type = file, directory = "%s" }
            }
          }
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0"
          """.formatted(mongo.connectionString(), WINDOW, EVERY, out, customers, everywhere, dir.resolve("checkpoints")));
      MongoCollection<Document> orders = client.getDatabase("run_db").getCollection("orders");
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1))
          .get("operationTime", BsonTimestamp.class);

      Path firstLog = dir.resolve("first.log");
      Process first = TidemarkProcess.start(firstLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      CompletableFuture<Void> workload;
      try {
        // Every stream opened from its start position, so that none misses the workload's first writes.
        Await.until(Duration.ofSeconds(90), () -> TidemarkProcess.started(management).keySet()
                .containsAll(List.of("orders-file", "customers-file", "customers-everywhere")) || !first.isAlive(),
            () -> "the three streams started; log:\n" + TidemarkProcess.read(firstLog));
        assertThat(first.isAlive()).as("first run; log:\n%s", TidemarkProcess.read(firstLog)).isTrue();
        workload = CompletableFuture.runAsync(() -> {
          for (int i = 0; i < INSERTS; i++) {
            orders.insertOne(new Document("_id", i).append("n", i));
            if (i % 10 == 0) client.getDatabase("run_db").getCollection("customers").insertOne(new Document("_id", i / 10));
          }
        });
        Await.until(Duration.ofSeconds(90), () -> TidemarkProcess.tokensWritten(out).size() >= 500 || !first.isAlive(),
            () -> "500 lines written by the first run; log:\n" + TidemarkProcess.read(firstLog));
        assertThat(first.isAlive()).as("first run still running; log:\n%s", TidemarkProcess.read(firstLog)).isTrue();
      } finally {
        first.destroyForcibly(); // SIGKILL: no drain, no last checkpoint
        first.waitFor(30, TimeUnit.SECONDS);
      }
      int beforeKill = TidemarkProcess.tokensWritten(out).size();
      workload.get(120, TimeUnit.SECONDS);

      Set<String> expected = new HashSet<>();
      try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = orders.watch().startAtOperationTime(before).cursor()) {
        while (expected.size() < INSERTS) {
          ChangeStreamDocument<Document> event = cursor.tryNext();
          if (event != null) expected.add(event.getResumeToken().getString("_data").getValue());
        }
      }

      Path secondLog = dir.resolve("second.log");
      Process second = TidemarkProcess.start(secondLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(120), () -> new HashSet<>(TidemarkProcess.tokensWritten(out)).containsAll(expected) || !second.isAlive(),
            () -> "every event written after the restart; log:\n" + TidemarkProcess.read(secondLog));
        Await.until(Duration.ofSeconds(60), () -> customerIds(customers).size() == INSERTS / 10 || !second.isAlive(),
            () -> INSERTS / 10 + " customers written by the database stream: " + customerIds(customers).size());
        Await.until(Duration.ofSeconds(60), () -> customerIds(everywhere).size() == INSERTS / 10 || !second.isAlive(),
            () -> INSERTS / 10 + " customers written by the deployment stream: " + customerIds(everywhere).size());
        assertThat(second.isAlive()).as("second run; log:\n%s", TidemarkProcess.read(secondLog)).isTrue();
        assertThat(TidemarkProcess.read(secondLog)).contains("resuming from the stored checkpoint");
      } finally {
        second.destroy(); // SIGTERM: drains and saves
        second.waitFor(60, TimeUnit.SECONDS);
        if (second.isAlive()) second.destroyForcibly();
      }

      List<String> lines = TidemarkProcess.tokensWritten(out);
      Map<String, Integer> times = new HashMap<>();
      lines.forEach(token -> times.merge(token, 1, Integer::sum));
      long duplicates = lines.size() - times.size();
      System.out.printf("RunProcessIT: %d events, %d lines (%d before the kill), %d written twice (bound N + K = %d)%n",
          expected.size(), lines.size(), beforeKill, duplicates, WINDOW + EVERY);
      assertThat(times.keySet()).as("every event of the collection, nothing else").isEqualTo(expected);
      assertThat(duplicates).as("written again after the kill (%d lines before it), at most N + K", beforeKill)
          .isLessThanOrEqualTo(WINDOW + EVERY);
      assertThat(times.values()).as("no event more than twice").allMatch(count -> count <= 2);
    }
  }

  @Test
  void anInvalidStreamStopsRunBeforeItStartsWithExitCode3(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("bad.conf");
    Files.writeString(config, "tidemark.streams.orders { source { database = shop }, sink { type = file } }\n");
    Path log = dir.resolve("bad.log");
    Process process = TidemarkProcess.start(log, "run", "--config", config.toString());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(TidemarkProcess.read(log)).isEqualTo(Main.BAD_INPUT);
    assertThat(TidemarkProcess.read(log).strip()).endsWith("error: missing config key tidemark.streams.orders.sink.directory: expected a non-empty string");
    assertThat(TidemarkProcess.read(log)).doesNotContain("Cluster Node");
  }
}
