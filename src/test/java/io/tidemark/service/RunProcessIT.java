package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Await;
import io.tidemark.cli.Main;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
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
 * {@code tidemark run} as a user runs it: two file-sink streams (a collection, and a database narrowed
 * to one namespace) over collections being written, the
 * node killed with SIGKILL mid-stream, started again on the same checkpoint database, and an audit
 * of the files against the collection's change stream: every event written, duplicates within the
 * replay bound (window size N + checkpoint interval K).
 */
class RunProcessIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");
  private static final int WINDOW = 100;
  private static final int EVERY = 50;
  private static final int INSERTS = 3_000;

  private static Process start(Path log, String... args) throws IOException {
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"), "-Xmx384m", "-jar", JAR.toString()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** The resume tokens' {@code _data} of the lines written, in file order. */
  private static List<String> written(Path directory) {
    if (!Files.isDirectory(directory)) return List.of();
    List<String> tokens = new ArrayList<>();
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.sorted().toList()) {
        for (String line : Files.readAllLines(file)) {
          if (line.isBlank()) continue;
          try {
            tokens.add(BsonDocument.parse(line).getDocument("_id").getString("_data").getValue());
          } catch (RuntimeException torn) {
            // the last line of a killed run may be torn; it was not fsync'd, so its event comes again
          }
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    return tokens;
  }

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
    assertThat(JAR).as("built by mvn package").exists();
    Path out = dir.resolve("out");
    Path customers = dir.resolve("customers");
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
          }
          akka.management.http.port = 0
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0"
          """.formatted(mongo.connectionString(), WINDOW, EVERY, out, customers, dir.resolve("checkpoints")));
      MongoCollection<Document> orders = client.getDatabase("run_db").getCollection("orders");
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1))
          .get("operationTime", BsonTimestamp.class);

      Path firstLog = dir.resolve("first.log");
      Process first = start(firstLog, "run", "--config", config.toString());
      CompletableFuture<Void> workload;
      try {
        Await.until(Duration.ofSeconds(90), () -> read(firstLog).contains("(saved as the first checkpoint)") || !first.isAlive(),
            () -> "the stream's first checkpoint; log:\n" + read(firstLog));
        assertThat(first.isAlive()).as("first run; log:\n%s", read(firstLog)).isTrue();
        workload = CompletableFuture.runAsync(() -> {
          for (int i = 0; i < INSERTS; i++) {
            orders.insertOne(new Document("_id", i).append("n", i));
            if (i % 10 == 0) client.getDatabase("run_db").getCollection("customers").insertOne(new Document("_id", i / 10));
          }
        });
        Await.until(Duration.ofSeconds(90), () -> written(out).size() >= 500 || !first.isAlive(),
            () -> "500 lines written by the first run; log:\n" + read(firstLog));
        assertThat(first.isAlive()).as("first run still running; log:\n%s", read(firstLog)).isTrue();
      } finally {
        first.destroyForcibly(); // SIGKILL: no drain, no last checkpoint
        first.waitFor(30, TimeUnit.SECONDS);
      }
      int beforeKill = written(out).size();
      workload.get(120, TimeUnit.SECONDS);

      Set<String> expected = new HashSet<>();
      try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = orders.watch().startAtOperationTime(before).cursor()) {
        while (expected.size() < INSERTS) {
          ChangeStreamDocument<Document> event = cursor.tryNext();
          if (event != null) expected.add(event.getResumeToken().getString("_data").getValue());
        }
      }

      Path secondLog = dir.resolve("second.log");
      Process second = start(secondLog, "run", "--config", config.toString());
      try {
        Await.until(Duration.ofSeconds(120), () -> new HashSet<>(written(out)).containsAll(expected) || !second.isAlive(),
            () -> "every event written after the restart; log:\n" + read(secondLog));
        Await.until(Duration.ofSeconds(60), () -> customerIds(customers).size() == INSERTS / 10 || !second.isAlive(),
            () -> INSERTS / 10 + " customers written by the second stream: " + customerIds(customers).size());
        assertThat(second.isAlive()).as("second run; log:\n%s", read(secondLog)).isTrue();
        assertThat(read(secondLog)).contains("resuming from the stored checkpoint");
      } finally {
        second.destroy(); // SIGTERM: drains and saves
        second.waitFor(60, TimeUnit.SECONDS);
        if (second.isAlive()) second.destroyForcibly();
      }

      List<String> lines = written(out);
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
    Process process = start(log, "run", "--config", config.toString());
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).as(read(log)).isEqualTo(Main.BAD_INPUT);
    assertThat(read(log).strip()).endsWith("error: missing config key tidemark.streams.orders.sink.directory: expected a non-empty string");
    assertThat(read(log)).doesNotContain("Cluster Node");
  }
}
