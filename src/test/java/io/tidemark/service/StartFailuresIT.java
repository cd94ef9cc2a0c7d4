package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.cli.Main;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar started as an operator starts it, with something wrong: the start fails with its
 * documented exit code and one line naming what was wrong, before the node serves anything (a node
 * that ran on would answer ready, or stay silently unmonitored).
 */
class StartFailuresIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");

  private record Outcome(int exitCode, String output) {
    String onlyLine() {
      assertThat(output.lines()).as("the output is one line:\n%s", output).hasSize(1);
      assertThat(output).doesNotContain("\tat ").doesNotContain("Exception in thread");
      return output.strip();
    }
  }

  private static Outcome run(Path dir, List<String> jvm, Map<String, String> env, String... args) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx256m");
    command.addAll(jvm);
    command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    Path log = Files.createTempFile(dir, "run", ".log");
    ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    builder.environment().putAll(env);
    Process process = builder.start();
    try {
      assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("the start failed and the process ended; output:\n%s", read(log)).isTrue();
    } finally {
      process.destroyForcibly();
    }
    return new Outcome(process.exitValue(), read(log));
  }

  private static String read(Path log) throws IOException {
    return Files.readString(log);
  }

  private static Outcome demo(Path dir, String setting) throws Exception {
    Path conf = Files.writeString(dir.resolve("bad.conf"), setting + "\n");
    return run(dir, List.of(), Map.of(), "demo", "--config", conf.toString(), "--data", dir.resolve("data").toString(),
        "--management-port", "0", "--events", "10");
  }

  @Test
  void aBadPipelineSettingFailsTheStartWithOneLine(@TempDir Path dir) throws Exception {
    Outcome words = demo(dir, "tidemark.pipeline.window-size = \"lots\"");
    assertThat(words.exitCode).as(words.output).isEqualTo(Main.BAD_INPUT);
    assertThat(words.onlyLine()).startsWith("error: invalid config key tidemark.pipeline.window-size = \"lots\" (")
        .endsWith("bad.conf: 1): expected a positive integer");

    Outcome negative = demo(dir, "tidemark.pipeline.window-size = -3");
    assertThat(negative.exitCode).as(negative.output).isEqualTo(Main.BAD_INPUT);
    assertThat(negative.onlyLine()).startsWith("error: invalid config key tidemark.pipeline.window-size = -3 (")
        .endsWith("bad.conf: 1): expected a positive integer");

    Outcome mode = demo(dir, "tidemark.pipeline.startup.mode = sometimes");
    assertThat(mode.exitCode).as(mode.output).isEqualTo(Main.BAD_INPUT);
    assertThat(mode.onlyLine()).startsWith("error: invalid config key tidemark.pipeline.startup.mode = \"sometimes\" (")
        .endsWith("bad.conf: 1): expected stream-only, snapshot-then-stream or snapshot-only");
  }

  @Test
  void aTakenManagementPortFailsTheStart(@TempDir Path dir) throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Outcome outcome = run(dir, List.of(), Map.of(), "demo", "--data", dir.resolve("data").toString(),
          "--management-port", String.valueOf(port), "--events", "10");
      assertThat(outcome.exitCode).as(outcome.output).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.output).doesNotContain("\tat ").doesNotContain("workload:").doesNotContain("consumer starting");
      assertThat(outcome.output.strip().lines().reduce((first, second) -> second).orElse(""))
          .isEqualTo("error: the management endpoints cannot listen on 127.0.0.1:" + port + ": the port is in use;"
              + " expected a free port in akka.management.http.port (--management-port P or --management HOST:PORT, TIDEMARK_MANAGEMENT_PORT)");
    }
  }

  /** {@code run} warned and ran on without its management endpoints: a service node silently unmonitored. */
  @Test
  void aTakenManagementPortFailsTheStartOfTheServiceToo(@TempDir Path dir) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Outcome outcome = run(dir, List.of(), Map.of("TIDEMARK_MONGODB_URI", mongo.connectionString()), "run",
          "--config", Path.of("conf", "examples", "stdout.conf").toAbsolutePath().toString(), "--management", "127.0.0.1:" + port);
      assertThat(outcome.exitCode).as(outcome.output).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.output).doesNotContain("\tat ").doesNotContain("service node up");
      assertThat(outcome.output.strip().lines().reduce((first, second) -> second).orElse(""))
          .isEqualTo("error: the management endpoints cannot listen on 127.0.0.1:" + port + ": the port is in use;"
              + " expected a free port in akka.management.http.port (--management-port P or --management HOST:PORT, TIDEMARK_MANAGEMENT_PORT)");
    }
  }

  /** The same for `run`, the service: with Akka Cluster Bootstrap a node without its endpoints could not even join. */
  @Test
  void aTakenManagementPortFailsTheStartOfTheService(@TempDir Path dir) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        ServerSocket taken = new ServerSocket(0, 50, InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Path conf = Files.writeString(dir.resolve("service.conf"), String.join("\n",
          "tidemark.mongodb.uri = \"" + mongo.connectionString() + "\"",
          "tidemark.demo.data-dir = \"" + dir.resolve("data") + "\"",
          "tidemark.streams.everything { sink { type = stdout } }"));
      Outcome outcome = run(dir, List.of(), Map.of(), "run", "--config", conf.toString(), "--management-port", String.valueOf(port));
      assertThat(outcome.exitCode).as(outcome.output).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.output).doesNotContain("\tat ").doesNotContain("consumer starting").doesNotContain("service node up");
      assertThat(outcome.output.strip().lines().reduce((first, second) -> second).orElse(""))
          .isEqualTo("error: the management endpoints cannot listen on 127.0.0.1:" + port + ": the port is in use;"
              + " expected a free port in akka.management.http.port (--management-port P or --management HOST:PORT, TIDEMARK_MANAGEMENT_PORT)");
    }
  }

  /** A route transform checked in the configuration (before the actor system), and one its sink would ignore (as the sink is made). */
  @Test
  void aRouteThatCannotWorkFailsTheStartOfTheServiceWithOneLine(@TempDir Path dir) throws Exception {
    String stream = "tidemark.mongodb.uri = \"mongodb://127.0.0.1:1/?replicaSet=rs0\"\n"
        + "tidemark.demo.data-dir = \"" + dir.resolve("data") + "\"\n"
        + "tidemark.streams.shop { source { database = shop }, sink { type = stdout }, transforms = [{ type = route, routes = [%s] }] }\n";
    Path groups = Files.writeString(dir.resolve("groups.conf"), stream.formatted("{ namespaces = \"shop\\\\.(.*)\", to = \"$2\" }"));
    Outcome beyond = run(dir, List.of(), Map.of(), "run", "--config", groups.toString(), "--management-port", "0");
    assertThat(beyond.exitCode).as(beyond.output).isEqualTo(Main.BAD_INPUT);
    assertThat(beyond.onlyLine()).isEqualTo("error: invalid config key tidemark.streams.shop.transforms[0].routes[0].to = \"$2\": expected group"
        + " references up to $1: the regular expression \"shop\\.(.*)\" has 1 group, and $2 refers to a group it lacks");

    Path unused = Files.writeString(dir.resolve("unused.conf"), stream.formatted("{ namespaces = \"shop\\\\.(.*)\", to = \"$1\" }"));
    Outcome nothing = run(dir, List.of(), Map.of(), "run", "--config", unused.toString(), "--management-port", "0");
    assertThat(nothing.exitCode).as(nothing.output).isEqualTo(Main.BAD_INPUT);
    assertThat(nothing.output).doesNotContain("\tat ").doesNotContain("service node up");
    assertThat(nothing.output.strip().lines().reduce((first, second) -> second).orElse(""))
        .startsWith("error: invalid config key tidemark.streams.shop.transforms[0]: the route transform routes nothing: the stream's stdout sink"
            + " has no {route} in its targets");
  }

  @Test
  void aMistypedSystemPropertyIsRefused(@TempDir Path dir) throws Exception {
    Outcome outcome = run(dir, List.of("-Dtidemark.pipeline.windw-size=5"), Map.of(), "demo", "--data", dir.resolve("data").toString(),
        "--management-port", "0", "--events", "10");
    assertThat(outcome.exitCode).as(outcome.output).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyLine()).startsWith("error: unknown config key tidemark.pipeline.windw-size (system properties)")
        .endsWith("did you mean tidemark.pipeline.window-size?");
  }

  @Test
  void aConfigForceEnvironmentVariableOverridesTheSetting(@TempDir Path dir) throws Exception {
    Outcome outcome = run(dir, List.of(), Map.of("CONFIG_FORCE_tidemark_pipeline_window__size", "lots"), "demo",
        "--data", dir.resolve("data").toString(), "--management-port", "0", "--events", "10");
    assertThat(outcome.exitCode).as(outcome.output).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyLine()).startsWith("error: invalid config key tidemark.pipeline.window-size = \"lots\" (env variables overrides)")
        .endsWith("expected a positive integer");
  }
}
