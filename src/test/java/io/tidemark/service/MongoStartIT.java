package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node started before its MongoDB (issue 18, defect 9): after a {@code kill -9} of everything, the
 * nodes and {@code mongo} start together, and {@code mongo} listens only once it has recovered its
 * store. A node waits for the server's own sign that it is up — an answer to the driver's
 * {@code hello} from a writable server — saying so every few seconds, up to
 * {@code tidemark.mongodb.start-timeout}; it no longer gives up after the connect timeout, which a
 * slow recovery on a loaded machine outlasted ("MongoDB unreachable at 127.0.0.1:27117 after 10s").
 */
class MongoStartIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  @Test
  void aDemoStartedBeforeItsMongoDbWaitsForItAndThenRuns(@TempDir Path dir) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    int port = Clusters.freePort();
    // The connect timeout is short: before the fix the start gave up after it.
    Path conf = Files.writeString(dir.resolve("test.conf"), "tidemark.mongodb.connect-timeout = 2s\ntidemark.demo.progress-interval = 1s\n");
    Path log = dir.resolve("demo.log");
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx256m");
    command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(Clusters.withFreeManagementPort("demo", "--mongodb", "mongodb://127.0.0.1:" + port,
        "--data", dir.resolve("data").toString(), "--config", conf.toString(), "--events", "20", "--rate", "50")));
    Process demo = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      String waiting = "waiting for MongoDB at 127.0.0.1:" + port;
      Await.until(Duration.ofSeconds(60), () -> read(log).contains(waiting) || !demo.isAlive(),
          () -> "the demo says it waits for its MongoDB; log:\n" + read(log));
      assertThat(demo.isAlive()).as("the demo waits instead of giving up; log:\n%s", read(log)).isTrue();
      assertThat(read(log)).contains(waiting + " to answer (")
          .contains("up to 60 s (tidemark.mongodb.start-timeout)");

      // The server comes up only now, long after the 2 s connect timeout began.
      try (EmbeddedMongo mongo = EmbeddedMongo.start(null, "127.0.0.1", port, EmbeddedSettings.defaults())) {
        assertThat(mongo.port()).isEqualTo(port);
        assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as("the demo finished; log:\n%s", read(log)).isTrue();
        assertThat(demo.exitValue()).as("exit code; log:\n%s", read(log)).isZero();
        assertThat(read(log)).contains("MongoDB at 127.0.0.1:" + port + " answers, after")
            .contains("all 20 writes processed").doesNotContain("unreachable");
      }
    } finally {
      demo.destroyForcibly();
      demo.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
