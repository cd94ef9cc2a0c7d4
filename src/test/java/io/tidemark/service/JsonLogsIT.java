package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.Clusters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo run with the shipped JSON log configuration (conf/logback-json.xml), as an operator
 * feeding a log store runs it (issue 18, defect 10): every line is one JSON object, and every line
 * about a stream — from the pipeline's stages and callbacks, from the consumer actor, the progress
 * line — carries the stream's name as {@code mdc.stream}, so that a log store filters by it.
 */
class JsonLogsIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void everyLineIsJsonAndALineAboutAStreamNamesItInTheMdc(@TempDir Path dir) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    Path log = dir.resolve("demo.log");
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx256m",
        "-Dlogback.configurationFile=" + Path.of("conf", "logback-json.xml").toAbsolutePath());
    command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(Clusters.withFreeManagementPort("demo", "--data", dir.resolve("data").toString(), "--events", "30")));
    Process demo = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    try {
      assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as("the demo finished; log:\n%s", Files.readString(log)).isTrue();
    } finally {
      demo.destroyForcibly();
    }
    String output = Files.readString(log);
    assertThat(demo.exitValue()).as(output).isZero();

    List<JsonNode> aboutTheStream = new ArrayList<>();
    List<JsonNode> others = new ArrayList<>();
    for (String line : output.strip().lines().toList()) {
      JsonNode event = JSON.readTree(line);
      assertThat(event.isObject()).as("a JSON object: %s", line).isTrue();
      assertThat(event.path("level").asText()).as(line).isNotEmpty();
      String message = event.path("formattedMessage").asText();
      if (message.startsWith("stream 'orders-view'") || message.startsWith("orders-view:")) {
        aboutTheStream.add(event);
      } else {
        others.add(event);
      }
    }
    assertThat(aboutTheStream).allSatisfy(event ->
        assertThat(event.path("mdc").path("stream").asText()).as(event.toString()).isEqualTo("orders-view"));
    assertThat(aboutTheStream).extracting(event -> event.path("loggerName").asText())
        .as("the consumer actor, the pipeline's start and stop, the progress line")
        .contains("io.tidemark.cluster.StreamConsumer", "io.tidemark.pipeline.StartPosition", "io.tidemark.pipeline.PipelineRuns",
            "tidemark.progress");
    assertThat(others).as("lines about no stream")
        .anySatisfy(event -> assertThat(event.path("formattedMessage").asText()).startsWith("embedded MongoDB listening on"))
        .allSatisfy(event -> assertThat(event.path("mdc").has("stream")).as(event.toString()).isFalse());
  }
}
