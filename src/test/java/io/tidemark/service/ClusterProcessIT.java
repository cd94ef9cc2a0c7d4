package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * docs/cluster.md, run as written: the commands of its marked block start the embedded MongoDB with
 * its checkpoint server, three nodes and a workload, as separate processes; the node running the
 * stream is killed with SIGKILL; another takes the stream over; the audit finds nothing missing.
 */
class ClusterProcessIT {
  private static final Pattern PROCESSED = Pattern.compile("\"eventsProcessed\":(\\d+)");
  private static final Pattern AUDIT = Pattern.compile("missing=(\\d+) duplicates=(\\d+) processed=(\\d+)");
  private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

  /** The commands between the markers of docs/cluster.md, without the build and without the trailing {@code &}. */
  static List<List<String>> documentedCommands() throws IOException {
    String doc = Files.readString(Path.of("docs", "cluster.md"));
    String block = doc.substring(doc.indexOf("<!-- cluster-commands:begin"), doc.indexOf("<!-- cluster-commands:end -->"));
    List<List<String>> commands = new ArrayList<>();
    for (String line : block.split("\n")) {
      String command = line.strip();
      if (!command.startsWith("java -jar target/tidemark.jar")) continue;
      if (command.endsWith("&")) command = command.substring(0, command.length() - 1).strip();
      commands.add(Arrays.asList(command.split("\\s+")));
    }
    return commands;
  }

  /**
   * The commands with every port they bind (after --port, --h2-port, --management-port) replaced,
   * everywhere it appears, by a free one: other processes share the machine.
   */
  static List<List<String>> onFreePorts(List<List<String>> commands) {
    Map<String, String> ports = new LinkedHashMap<>();
    for (List<String> command : commands) {
      for (int i = 0; i + 1 < command.size(); i++) {
        if (List.of("--port", "--h2-port", "--management-port").contains(command.get(i))) {
          ports.computeIfAbsent(command.get(i + 1), documented -> String.valueOf(io.tidemark.Clusters.freePort()));
        }
      }
    }
    List<List<String>> replaced = new ArrayList<>();
    for (List<String> command : commands) {
      List<String> argv = new ArrayList<>();
      for (String token : command) {
        Matcher matcher = Pattern.compile("\\b\\d{4,5}\\b").matcher(token);
        argv.add(matcher.replaceAll(match -> ports.getOrDefault(match.group(), match.group())));
      }
      replaced.add(argv);
    }
    return replaced;
  }

  private String get(int port, String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(2)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      return "";
    }
  }

  private static long processed(String status) {
    Matcher matcher = PROCESSED.matcher(status);
    return matcher.find() ? Long.parseLong(matcher.group(1)) : -1;
  }

  @Test
  void theDocumentedClusterSurvivesAKillMinus9OfTheNodeRunningTheStream(@TempDir Path dir) throws Exception {
    Path jar = Path.of("target", "tidemark.jar").toAbsolutePath();
    assertThat(jar).as("built by mvn package").exists();
    Files.createDirectories(dir.resolve("target"));
    Files.createSymbolicLink(dir.resolve("target").resolve("tidemark.jar"), jar);
    List<List<String>> commands = onFreePorts(documentedCommands());
    assertThat(commands).hasSize(5);

    Map<String, Process> processes = new LinkedHashMap<>();
    Map<Integer, Process> nodesByManagementPort = new LinkedHashMap<>();
    try {
      for (List<String> command : commands) {
        String name = command.get(3) + "-" + processes.size();
        if (command.get(3).equals("workload")) {
          // As the document says: once a node lists the stream.
          Await.until(Duration.ofSeconds(90), () -> nodesByManagementPort.keySet().stream()
                  .anyMatch(port -> get(port, "/tidemark/streams").contains("\"state\":\"running\"")),
              () -> "a node running the stream; logs: " + logs(dir));
        }
        List<String> argv = new ArrayList<>(command);
        argv.set(0, ProcessHandle.current().info().command().orElse("java"));
        ProcessBuilder builder = new ProcessBuilder(argv).directory(dir.toFile()).redirectErrorStream(true)
            .redirectOutput(dir.resolve(name + ".log").toFile());
        builder.environment().put("JAVA_TOOL_OPTIONS", "-Xmx384m " + io.tidemark.TidemarkProcess.JIT);
        Process process = builder.start();
        processes.put(name, process);
        if (command.get(3).equals("node")) {
          nodesByManagementPort.put(Integer.parseInt(command.get(command.indexOf("--management-port") + 1)), process);
        }
        if (command.get(3).equals("mongo")) {
          Await.until(Duration.ofSeconds(30), () -> log(dir, name).contains("checkpoints:"), () -> "mongo started: " + log(dir, name));
        }
      }

      int[] host = {0};
      Await.until(Duration.ofSeconds(90), () -> {
        for (int port : nodesByManagementPort.keySet()) {
          if (processed(get(port, "/tidemark/streams")) >= 300) {
            host[0] = port;
            return true;
          }
        }
        return false;
      }, () -> "a node processing the stream; logs: " + logs(dir));
      assertThat(get(host[0], "/ready")).isEqualTo("OK");

      Process leader = nodesByManagementPort.get(host[0]);
      System.out.printf("the stream runs behind management port %d (pid %d): killing it%n", host[0], leader.pid());
      leader.destroyForcibly(); // SIGKILL
      leader.waitFor(30, TimeUnit.SECONDS);

      int[] successor = {0};
      Await.until(Duration.ofSeconds(60), () -> {
        for (int port : nodesByManagementPort.keySet()) {
          if (port != host[0] && processed(get(port, "/tidemark/streams")) >= 100) {
            successor[0] = port;
            return true;
          }
        }
        return false;
      }, () -> "another node processing the stream; logs: " + logs(dir));
      System.out.printf("the stream moved behind management port %d%n", successor[0]);

      Process workload = processes.entrySet().stream().filter(e -> e.getKey().startsWith("workload")).findFirst().orElseThrow().getValue();
      workload.destroy(); // SIGTERM: the workload stops writing
      workload.waitFor(30, TimeUnit.SECONDS);

      String[] audit = {""};
      Await.until(Duration.ofSeconds(60), () -> {
        audit[0] = verify(dir, jar, mongoUri(commands));
        Matcher matcher = AUDIT.matcher(audit[0]);
        return matcher.find() && matcher.group(1).equals("0");
      }, () -> "the audit to find nothing missing: " + audit[0] + logs(dir));
      Matcher result = AUDIT.matcher(audit[0]);
      assertThat(result.find()).isTrue();
      assertThat(Long.parseLong(result.group(2))).as("duplicates after a crash, at most window + throttle").isLessThanOrEqualTo(2_000);
      assertThat(Long.parseLong(result.group(3))).as("events processed").isGreaterThan(400);
      assertThat(log(dir, "node-" + (1 + List.copyOf(nodesByManagementPort.keySet()).indexOf(successor[0]))))
          .contains("consumer starting on akka://tidemark@127.0.0.1:");
    } finally {
      for (Process process : processes.values()) process.destroy();
      for (Process process : processes.values()) {
        if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly();
      }
    }
  }

  /** The MongoDB the nodes use, as their commands name it. */
  private static String mongoUri(List<List<String>> commands) {
    for (List<String> command : commands) {
      int at = command.indexOf("--mongodb");
      if (at >= 0) return command.get(at + 1);
    }
    throw new AssertionError("no node command names --mongodb");
  }

  private static String verify(Path dir, Path jar, String mongoUri) {
    try {
      List<String> command = io.tidemark.TidemarkProcess.jvm();
      command.addAll(List.of("-jar", jar.toString(), "verify", "--mongodb", mongoUri));
      Process verify = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).start();
      String out = new String(verify.getInputStream().readAllBytes());
      verify.waitFor(60, TimeUnit.SECONDS);
      return out;
    } catch (Exception e) {
      return e.toString();
    }
  }

  private static String log(Path dir, String name) {
    try {
      return Files.readString(dir.resolve(name + ".log"));
    } catch (IOException e) {
      return "";
    }
  }

  private static String logs(Path dir) {
    StringBuilder text = new StringBuilder();
    try (var files = Files.list(dir)) {
      files.filter(f -> f.toString().endsWith(".log")).forEach(f -> {
        String content = log(dir, f.getFileName().toString().replace(".log", ""));
        text.append("\n--- ").append(f.getFileName()).append(" (last 1500 chars)\n")
            .append(content.substring(Math.max(0, content.length() - 1500)));
      });
    } catch (IOException e) {
      text.append(e);
    }
    return text.toString();
  }
}
