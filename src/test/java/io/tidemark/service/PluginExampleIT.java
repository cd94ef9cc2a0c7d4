package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import io.tidemark.Await;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sample plugin project (examples/plugin-enrich) as a user builds and runs it: a copy of it built
 * with Maven offline against target/tidemark.jar (from the same local repository), then
 * {@code tidemark run --plugins DIR} with its stage, its per-event handler and its sink type against
 * the embedded server, and their effects checked in what the sink and the handler wrote.
 */
class PluginExampleIT {
  private static final Path JAR = Path.of("target", "tidemark.jar").toAbsolutePath();
  private static final Path EXAMPLE = Path.of("examples", "plugin-enrich");

  private static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static List<String> lines(Path file) {
    return read(file).lines().filter(line -> !line.isBlank()).toList();
  }

  /** Copies the example project, without anything a build of it left. */
  private static void copy(Path from, Path to) throws IOException {
    try (Stream<Path> files = Files.walk(from)) {
      for (Path file : files.toList()) {
        Path relative = from.relativize(file);
        if (relative.startsWith("target")) continue;
        Path target = to.resolve(relative.toString());
        if (Files.isDirectory(file)) {
          Files.createDirectories(target);
        } else {
          Files.copy(file, target);
        }
      }
    }
  }

  /** {@code mvn -o -q package} in {@code project}, with this build's local repository; returns the plugin directory. */
  private static Path build(Path project, Path log) throws Exception {
    List<String> command = new ArrayList<>(List.of("mvn", "-o", "-q", "-B", "package", "-Dtidemark.jar=" + JAR));
    String repository = System.getProperty("maven.repo.local");
    if (repository != null && !repository.isBlank()) command.add("-Dmaven.repo.local=" + repository);
    Process maven = new ProcessBuilder(command).directory(project.toFile()).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    boolean ended = maven.waitFor(5, TimeUnit.MINUTES);
    if (!ended) maven.destroyForcibly();
    assertThat(ended && maven.exitValue() == 0).as("mvn -o -q package of the example; output:\n%s", read(log)).isTrue();
    Path plugins = project.resolve("target").resolve("plugin");
    assertThat(plugins.resolve("plugin-enrich.jar")).as("the plugin jar").exists();
    return plugins;
  }

  @Test
  void theSamplePluginBuildsWithMavenAndItsStageHandlerAndSinkRun(@TempDir Path dir) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    Path project = dir.resolve("plugin-enrich");
    copy(EXAMPLE, project);
    Path plugins = build(project, dir.resolve("mvn.log"));

    Path csv = dir.resolve("orders.csv");
    Path audit = dir.resolve("audit.log");
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            streams.orders-csv {
              source { database = shop, collection = orders, full-document = updateLookup }
              stages = ["com.example.tidemark.Enrich", "com.example.tidemark.AuditTrail"]
              sink { type = example-csv, file = "%s", columns = [_id, total, tier] }
            }
          }
          example.enrich.gold-from = 50
          akka.management.http.port = 0
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0"
          """.formatted(mongo.connectionString(), csv, dir.resolve("checkpoints")));
      Path log = dir.resolve("run.log");
      List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx384m", "-Dexample.audit.file=" + audit);
      command.addAll(List.of("-jar", JAR.toString(), "run", "--config", config.toString(), "--plugins", plugins.toString()));
      Process node = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
      try {
        Await.until(Duration.ofSeconds(90), () -> read(log).contains("(saved as the first checkpoint)") || !node.isAlive(),
            () -> "the stream's first checkpoint; log:\n" + read(log));
        assertThat(node.isAlive()).as("tidemark run; log:\n%s", read(log)).isTrue();
        assertThat(read(log)).contains("example-csv sink (at-least-once)");

        MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
        orders.insertOne(new Document("_id", 1).append("total", 30));
        orders.insertOne(new Document("_id", 2).append("total", 70));
        orders.insertOne(new Document("_id", 3).append("total", 200));
        orders.updateOne(Filters.eq("_id", 1), Updates.set("total", 60));
        orders.deleteOne(Filters.eq("_id", 2));
        Await.until(Duration.ofSeconds(60), () -> lines(csv).size() >= 5 && lines(audit).size() >= 5,
            () -> "5 rows in " + csv + ": " + lines(csv) + " and 5 lines in " + audit + ": " + lines(audit) + "; log:\n" + read(log));
      } finally {
        node.destroy();
        if (!node.waitFor(60, TimeUnit.SECONDS)) node.destroyForcibly();
      }
    }
    assertThat(lines(csv)).as("the plugin's sink, each order's tier from the plugin's stage (gold from 50, the node's setting)")
        .containsExactly("insert,1,30,standard", "insert,2,70,gold", "insert,3,200,gold", "update,1,60,gold", "delete,2");
    assertThat(lines(audit)).as("the plugin's handler").containsExactly(
        "orders-csv insert {\"_id\": 1}", "orders-csv insert {\"_id\": 2}", "orders-csv insert {\"_id\": 3}",
        "orders-csv update {\"_id\": 1}", "orders-csv delete {\"_id\": 2}");
  }
}
