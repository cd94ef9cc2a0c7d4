package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark run} with two streams, one of which stops for good (its stage fails on every event,
 * and the restarts allowed run out): the node stays up and the other stream runs on; the stopped
 * stream is visible where an operator and an alert look: {@code /ready} answers 503,
 * {@code /tidemark/streams} says it failed and why, {@code tidemark_stream_up} is 0 beside
 * {@code tidemark_stream_configured} 1, and {@code tidemark status} exits 1.
 */
class StreamStoppedForGoodIT {
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  @Test
  void aStreamThatStopsForGoodLeavesTheOtherStreamsRunningAndIsVisible(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    Path plugins = Files.createDirectories(dir.resolve("plugins"));
    jar(plugins.resolve("failing-stage.jar"), AlwaysFailingStage.class);
    int management = Clusters.freePort();
    Path out = dir.resolve("out");
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline.on-failure { max-restarts = 2, restart-min-backoff = 10ms, restart-max-backoff = 50ms }
            streams.broken {
              source { database = shop, collection = orders }
              stages = ["%s"]
              sink { type = stdout }
            }
            streams.healthy {
              source { database = shop, collection = customers }
              sink { type = file, directory = "%s" }
            }
          }
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s;DB_CLOSE_ON_EXIT=FALSE"
          """.formatted(mongo.connectionString(), AlwaysFailingStage.class.getName(), out, dir.resolve("checkpoints")));
      Path log = dir.resolve("run.log");
      Process node = TidemarkProcess.start(log, "run", "--config", config.toString(), "--plugins", plugins.toString(),
          "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(90), () -> get(management, "/tidemark/streams").body().contains("\"stream\":\"healthy\"") || !node.isAlive(),
            () -> "the healthy stream running; log:\n" + TidemarkProcess.read(log));
        client.getDatabase("shop").getCollection("orders").insertOne(new Document("_id", 1));
        Await.until(Duration.ofSeconds(60), () -> TidemarkProcess.read(log).contains("stream 'broken': stopped for good") || !node.isAlive(),
            () -> "the broken stream stopped for good; log:\n" + TidemarkProcess.read(log));
        for (int i = 0; i < 20; i++) client.getDatabase("shop").getCollection("customers").insertOne(new Document("_id", i));
        Await.until(Duration.ofSeconds(60), () -> lines(out) >= 20 || !node.isAlive(),
            () -> "the healthy stream's 20 events written; log:\n" + TidemarkProcess.read(log));

        assertThat(node.isAlive()).as("the node runs on; log:\n%s", TidemarkProcess.read(log)).isTrue();
        assertThat(lines(out)).isEqualTo(20);
        Reply ready = get(management, "/ready");
        assertThat(ready.status()).as("/ready: %s", ready.body()).isEqualTo(503);
        String streams = get(management, "/tidemark/streams").body();
        assertThat(streams).contains("\"stream\":\"broken\",\"state\":\"stopped\"").contains("AlwaysFailingStage refuses event")
            .contains("\"stream\":\"healthy\",\"state\":\"running\"");
        String metrics = get(management, "/metrics").body();
        assertThat(metrics).contains("tidemark_stream_up{stream=\"broken\"} 0").contains("tidemark_stream_up{stream=\"healthy\"} 1")
            .contains("tidemark_stream_configured{stream=\"broken\"} 1").contains("tidemark_stream_configured{stream=\"healthy\"} 1");
        java.util.List<String> command = TidemarkProcess.jvm();
        command.addAll(java.util.List.of("-jar", TidemarkProcess.JAR.toString(), "status", "--management", "127.0.0.1:" + management));
        Process status = new ProcessBuilder(command).redirectErrorStream(true).start();
        String said = new String(status.getInputStream().readAllBytes());
        assertThat(status.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(status.exitValue()).as(said).isEqualTo(1);
        assertThat(said).contains("broken").contains("AlwaysFailingStage refuses event");
      } finally {
        node.destroy();
        if (!node.waitFor(60, TimeUnit.SECONDS)) node.destroyForcibly();
      }
    }
  }

  /** A plugin jar holding {@code classes}, as a user would drop into --plugins DIR. */
  private static void jar(Path jar, Class<?>... classes) throws IOException {
    try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar))) {
      for (Class<?> type : classes) {
        String entry = type.getName().replace('.', '/') + ".class";
        out.putNextEntry(new JarEntry(entry));
        try (InputStream in = type.getClassLoader().getResourceAsStream(entry)) {
          in.transferTo(out);
        }
        out.closeEntry();
      }
    }
  }

  private record Reply(int status, String body) {}

  private Reply get(int port, String path) {
    try {
      HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
          .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
      return new Reply(response.statusCode(), response.body());
    } catch (IOException e) {
      return new Reply(-1, e.toString());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static long lines(Path directory) {
    if (!Files.isDirectory(directory)) return 0;
    try (Stream<Path> files = Files.list(directory)) {
      long count = 0;
      for (Path file : files.toList()) count += Files.readAllLines(file).stream().filter(line -> !line.isBlank()).count();
      return count;
    } catch (IOException e) {
      return 0;
    }
  }
}
