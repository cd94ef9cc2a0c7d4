package io.tidemark;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.bson.BsonDocument;

/**
 * The packaged jar run as its users run it, for the process tests: a command in a JVM of its own
 * with its output in a log file, the log read back, a node's status endpoint asked, and the JSON
 * lines a file sink wrote.
 */
public final class TidemarkProcess {
  public static final Path JAR = Path.of("target", "tidemark.jar");
  private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * The JIT option of every JVM the tests start (the jar's nodes, demos and commands): the C1
   * compiler only. These JVMs live for seconds to a minute, most of it starting up; C2's compiler
   * threads took about half their CPU (a 300-event demo on this 2-core machine: 25.9 s of CPU
   * with both compilers, 13.9 s with C1 only), CPU the other processes of a test wait for. What
   * the tests prove (kills, restarts, audits) does not depend on the compiler.
   */
  public static final String JIT = "-XX:TieredStopAtLevel=1";

  private TidemarkProcess() {}

  /**
   * The start of the command line of a JVM a test starts: this JVM's {@code java}, then
   * {@code options} (heap, GC, system properties), then {@link #JIT}; the caller adds the rest
   * ({@code -jar ...} or {@code -cp ... Main}). A list to add to.
   */
  public static List<String> jvm(String... options) {
    List<String> command = new ArrayList<>();
    command.add(ProcessHandle.current().info().command().orElse("java"));
    command.addAll(List.of(options));
    command.add(JIT);
    return command;
  }

  /** {@code java -Xmx384m -XX:TieredStopAtLevel=1 -jar target/tidemark.jar ARGS...}, its output (stdout and stderr) into {@code log}. */
  public static Process start(Path log, String... args) throws IOException {
    List<String> command = jvm("-Xmx384m");
    command.addAll(List.of("-jar", JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  /** The file's text; empty while it does not exist. */
  public static String read(Path file) {
    try {
      return Files.exists(file) ? Files.readString(file) : "";
    } catch (IOException e) {
      return "";
    }
  }

  /** The body of {@code GET http://127.0.0.1:PORT/PATH}, or the error as text when the node does not answer. */
  public static String get(int port, String path) {
    try {
      return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
          HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      return e.toString();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * The streams a node runs, by name, as its {@code /tidemark/streams} lists them: those whose state is
   * {@code running} and that have opened from their start position ({@code startedFrom}: a stream that
   * starts "now" has taken the time it starts at, so a write made after this sees it).
   */
  public static Map<String, JsonNode> started(int port) {
    Map<String, JsonNode> started = new HashMap<>();
    try {
      for (JsonNode stream : JSON.readTree(get(port, "/tidemark/streams")).path("streams")) {
        if (stream.path("state").asText().equals("running") && stream.hasNonNull("startedFrom")) {
          started.put(stream.path("stream").asText(), stream);
        }
      }
    } catch (IOException notJson) {
      // not answering (yet, or any more)
    }
    return started;
  }

  /**
   * The resume tokens' {@code _data} of the JSON lines a file sink wrote into {@code directory}, in
   * file order. A line torn by a kill is left out: it was not forced to the disk, so its event comes again.
   */
  public static List<String> tokensWritten(Path directory) {
    if (!Files.isDirectory(directory)) return List.of();
    List<String> tokens = new ArrayList<>();
    try (Stream<Path> files = Files.list(directory)) {
      for (Path file : files.sorted().toList()) {
        for (String line : Files.readAllLines(file)) {
          if (line.isBlank()) continue;
          try {
            tokens.add(BsonDocument.parse(line).getDocument("_id").getString("_data").getValue());
          } catch (RuntimeException torn) {
            // torn by the kill
          }
        }
      }
    } catch (IOException e) {
      return List.of();
    }
    return tokens;
  }

  /** The last {@code chars} characters of every log file in {@code dir}, for a failure's message. */
  public static String logs(Path dir, int chars) {
    StringBuilder text = new StringBuilder();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path file : files.filter(f -> f.toString().endsWith(".log")).sorted().toList()) {
        String content = read(file);
        text.append("\n--- ").append(file.getFileName()).append(" (last ").append(chars).append(" chars)\n")
            .append(content.substring(Math.max(0, content.length() - chars)));
      }
    } catch (IOException e) {
      text.append(e);
    }
    return text.toString();
  }
}
