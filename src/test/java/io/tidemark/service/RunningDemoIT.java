package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.cli.Main;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Around a running demo, as a user meets it (issue 18, defect 12): {@code checkpoints list} on its
 * data directory says, as {@code verify} does, that another Tidemark process holds it (it showed
 * H2's raw "Database may be already in use"); SIGTERM stops it gracefully, with the exit code the
 * exit-code table gives (143), after draining and saving.
 */
class RunningDemoIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");

  private record Outcome(int exitCode, String out, String err) {}

  private static Outcome run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Outcome(code, out.toString(), err.toString());
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  @Test
  void toolsOnItsDataSayItIsInUseAndSigtermStopsItGracefully(@TempDir Path dir) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    Path data = dir.resolve("data");
    Path log = dir.resolve("demo.log");
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx256m");
    command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(Clusters.withFreeManagementPort("demo", "--data", data.toString(), "--rate", "20")));
    Process demo = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      Await.until(Duration.ofSeconds(90), () -> read(log).contains("events processed") || !demo.isAlive(),
          () -> "the demo processes events; log:\n" + read(log));
      assertThat(demo.isAlive()).as(read(log)).isTrue();

      Outcome verify = run("verify", "--data", data.toString());
      assertThat(verify.exitCode).isEqualTo(Main.BAD_INPUT);
      assertThat(verify.err.strip()).isEqualTo("error: data directory " + data + " is in use by another Tidemark process ("
          + data.resolve("mongo.mv.db") + " is locked): stop it first, or pass --mongodb URI to use a running server");

      Outcome list = run("checkpoints", "list", "--data", data.toString());
      assertThat(list.exitCode).isEqualTo(Main.BAD_INPUT);
      assertThat(list.err.strip()).isEqualTo("error: data directory " + data + " is in use by another Tidemark process ("
          + data.resolve("checkpoints.mv.db") + " is locked): stop it first, or pass --checkpoints JDBC_URL to use a checkpoint server");

      demo.destroy(); // SIGTERM, as docker stop and Kubernetes send it
      assertThat(demo.waitFor(60, TimeUnit.SECONDS)).as("stopped; log:\n%s", read(log)).isTrue();
      assertThat(demo.exitValue()).as("the documented exit code of a SIGTERM; log:\n%s", read(log)).isEqualTo(143);
      assertThat(read(log)).contains("stream 'orders-view': stopping; draining in-flight events and saving the safe token")
          .contains("stream 'orders-view' stopped; last checkpoint: resumeAfter");
    } finally {
      demo.destroyForcibly();
      demo.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
