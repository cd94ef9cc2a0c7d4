package io.tidemark.management;

import io.tidemark.cli.Main;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.management.javadsl.AkkaManagement;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.FaultSettings;
import io.tidemark.testkit.FailCommand;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node's management port with a running stream: {@code /metrics} scraped and parsed after a known
 * number of events, and {@code tidemark status} and {@code tidemark report} asking it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ManagementEndpointsIT {
  private static final int EVENTS = 25;
  private static final int WINDOW = 64;
  private static final Pattern SAMPLE = Pattern.compile("^([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{[^}]*\\})?\\s+(\\S+)$");

  private final int port = Clusters.freePort();
  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(1_000));
  private final int remoting = Clusters.freePort();
  private final ActorTestKit testKit = ActorTestKit.create("management-it", Clusters.node("management-it", remoting, remoting,
      ConfigFactory.parseString(String.join("\n",
          "akka.management.http.hostname = 127.0.0.1",
          "akka.management.http.port = " + port,
          "akka.management.http.routes.tidemark-status = io.tidemark.management.StatusRoutes",
          "akka.management.http.routes.tidemark-metrics = io.tidemark.management.MetricsRoutes",
          "tidemark.ops.sample-interval = 200ms",
          "tidemark.oplog.interval = 300ms"))));
  private PipelineControl control;

  @BeforeAll
  void startAStreamAndProcessKnownEvents() throws Exception {
    AkkaManagement.get(testKit.system().classicSystem()).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
    control = Pipeline.named("orders")
        .mongoUri(mongo.uri())
        .collection("shop", "orders")
        .checkpoints(InMemoryCheckpointStore.create())
        .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
        .windowSettings(WindowSettings.create(testKit.system()).withSize(WINDOW))
        .mapAsync(event -> CompletableFuture.completedFuture(event))
        .run(testKit.system());
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    var orders = mongo.database("shop").getCollection("orders");
    for (int id = 0; id < EVENTS; id++) orders.insertOne(new Document("_id", id));
    Await.until(Duration.ofSeconds(30), () -> control.stats().window().completed() == EVENTS && control.stats().window().inFlight() == 0,
        () -> EVENTS + " events processed");
    mongo.failCommand(FailCommand.on("getMore").errorCode(43).times(1));
    orders.insertOne(new Document("_id", EVENTS));
    Await.until(Duration.ofSeconds(30), () -> control.stats().window().completed() == EVENTS + 1
            && control.stats().errors().getOrDefault("43", 0L) == 1L && control.stats().oplog() != null
            && control.stats().oplog().headroomSeconds() != null,
        () -> "the event after a CursorNotFound, and an oplog sample with headroom");
  }

  @AfterAll
  void shutdown() throws Exception {
    control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    testKit.shutdownTestKit();
    mongo.close();
  }

  private String get(String path) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith(path.equals("/metrics") ? "text/plain" : "application/json");
    return response.body();
  }

  private HttpResponse<String> metricsAccepting(String accept) throws Exception {
    HttpResponse<String> response = HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).header("Accept", accept).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(response.statusCode()).isEqualTo(200);
    return response;
  }

  /** The Prometheus text format, parsed: "name{labels}" to value; HELP and TYPE lines checked on the way. */
  private static Map<String, Double> parse(String text) {
    Map<String, Double> samples = new HashMap<>();
    List<String> typed = new ArrayList<>();
    for (String line : text.split("\n")) {
      if (line.isBlank()) continue;
      if (line.startsWith("# TYPE ")) {
        typed.add(line.split(" ")[2]);
        continue;
      }
      if (line.startsWith("#")) continue;
      Matcher matcher = SAMPLE.matcher(line);
      assertThat(matcher.matches()).as("a sample line: %s", line).isTrue();
      String labels = matcher.group(2) == null ? "" : matcher.group(2);
      samples.put(matcher.group(1) + labels, Double.parseDouble(matcher.group(3)));
    }
    assertThat(typed).contains("tidemark_events_total", "tidemark_lag_seconds", "tidemark_errors_total");
    return samples;
  }

  @Test
  void metricsAreScrapedWithTheValuesOfTheStream() throws Exception {
    Map<String, Double> metrics = parse(get("/metrics"));
    String stream = "{stream=\"orders\"}";
    assertThat(metrics).containsEntry("tidemark_events_total" + stream, (double) EVENTS + 1);
    assertThat(metrics).containsEntry("tidemark_window_in_flight" + stream, 0.0);
    assertThat(metrics).containsEntry("tidemark_window_capacity" + stream, (double) WINDOW);
    assertThat(metrics).containsEntry("tidemark_restarts_total" + stream, 0.0);
    assertThat(metrics).containsEntry("tidemark_dead_letters_total" + stream, 0.0);
    assertThat(metrics).containsEntry("tidemark_replayed_events_total" + stream, 0.0);
    assertThat(metrics).containsEntry("tidemark_gaps_total" + stream, 0.0);
    assertThat(metrics).containsEntry("tidemark_stream_up" + stream, 1.0);
    assertThat(metrics).containsEntry("tidemark_errors_total{code=\"43\",stream=\"orders\"}", 1.0);
    assertThat(metrics.get("tidemark_checkpoints_saved_total" + stream)).isGreaterThanOrEqualTo(1.0);
    assertThat(metrics.get("tidemark_lag_seconds" + stream)).isBetween(0.0, 60.0);
    assertThat(metrics.get("tidemark_checkpoint_age_seconds" + stream)).isBetween(0.0, 60.0);
    assertThat(metrics.get("tidemark_oplog_window_seconds" + stream)).isGreaterThanOrEqualTo(0.0);
    assertThat(metrics.get("tidemark_oplog_headroom_seconds" + stream))
        .as("nothing truncated yet: the checkpoint is as far from the oldest entry as the window allows")
        .isBetween(0.0, metrics.get("tidemark_oplog_window_seconds" + stream));
    assertThat(metrics.get("tidemark_oplog_usage_ratio" + stream)).isBetween(0.0, 1.0);
  }

  @Test
  void metricsAreOpenMetricsWhenTheScraperAcceptsIt() throws Exception {
    // What Prometheus 2.x sends by default: OpenMetrics first, the text format as a fallback.
    HttpResponse<String> response = metricsAccepting(
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1");
    assertThat(response.headers().firstValue("Content-Type").orElse("")).isEqualToIgnoringCase("application/openmetrics-text; version=1.0.0; charset=utf-8");
    assertThat(response.body()).contains("# TYPE tidemark_events counter\n")
        .contains("tidemark_events_total{stream=\"orders\"} " + (EVENTS + 1) + ".0\n")
        .endsWith("# EOF\n");
  }

  @Test
  void metricsAreTheTextFormatWhenTheScraperAsksForItOrForNothingElseServed() throws Exception {
    for (String accept : List.of("text/plain;version=0.0.4", "*/*",
        // Protobuf is not served: the text format stands in.
        "application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited")) {
      HttpResponse<String> response = metricsAccepting(accept);
      assertThat(response.headers().firstValue("Content-Type").orElse("")).as(accept).isEqualToIgnoringCase("text/plain; version=0.0.4; charset=utf-8");
      assertThat(response.body()).as(accept).contains("# TYPE tidemark_events_total counter\n").doesNotContain("# EOF");
      assertThat(parse(response.body())).as(accept).containsEntry("tidemark_events_total{stream=\"orders\"}", (double) EVENTS + 1);
    }
  }

  @Test
  void metricsIncludeTheJvmAndTheProcess() throws Exception {
    Map<String, Double> metrics = parse(get("/metrics"));
    assertThat(metrics.keySet()).anyMatch(name -> name.startsWith("jvm_memory_used_bytes{area=\"heap\""))
        .anyMatch(name -> name.startsWith("jvm_threads_current"))
        .anyMatch(name -> name.startsWith("jvm_gc_collection_seconds_count"))
        .anyMatch(name -> name.startsWith("process_cpu_seconds_total"));
    assertThat(metrics.entrySet()).filteredOn(entry -> entry.getKey().startsWith("jvm_memory_used_bytes{area=\"heap\""))
        .allMatch(entry -> entry.getValue() > 0);
  }

  @Test
  void statusPrintsTheStreamsOfTheNode() {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"status", "--management", "127.0.0.1:" + port}, new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).as(err.toString()).isZero();
    String[] lines = out.toString().strip().split("\n");
    assertThat(lines[0]).startsWith("node akka://management-it@");
    assertThat(lines[1]).startsWith("STREAM").contains("LAG", "CHECKPOINT AGE", "HEADROOM", "OPLOG WINDOW", "IN FLIGHT");
    assertThat(lines[2]).startsWith("orders").contains("running", String.valueOf(EVENTS + 1));

    StringWriter json = new StringWriter();
    assertThat(Main.execute(new String[] {"status", "--management", "127.0.0.1:" + port, "--json"}, new PrintWriter(json, true),
        new PrintWriter(new StringWriter(), true))).isZero();
    assertThat(json.toString()).contains("\"eventsProcessed\" : " + (EVENTS + 1)).contains("\"failedCommands\"")
        .contains("\"windowCapacity\" : " + WINDOW);
  }

  @Test
  void statusAndReportSayWhenNoNodeAnswers() {
    int closed = Clusters.freePort();
    for (String command : new String[] {"status", "report"}) {
      StringWriter err = new StringWriter();
      int code = Main.execute(new String[] {command, "--management", "127.0.0.1:" + closed}, new PrintWriter(new StringWriter(), true),
          new PrintWriter(err, true));
      assertThat(code).isEqualTo(Main.BAD_INPUT);
      assertThat(err.toString()).startsWith("error: no Tidemark node answers at http://127.0.0.1:" + closed);
    }
    StringWriter err = new StringWriter();
    assertThat(Main.execute(new String[] {"status", "--management", "localhost"}, new PrintWriter(new StringWriter(), true),
        new PrintWriter(err, true))).isEqualTo(Main.BAD_INPUT);
    assertThat(err.toString()).contains("invalid --management 'localhost': expected HOST:PORT");
  }

  @Test
  void reportDrawsTheSamplesTheNodeKept(@TempDir Path dir) throws Exception {
    Await.until(Duration.ofSeconds(10), () -> Samples.get(testKit.system()).all().getOrDefault("orders", List.of()).size() >= 3,
        () -> "three samples");
    Path page = dir.resolve("report.html");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"report", "--management", "127.0.0.1:" + port, "--out", page.toString()},
        new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString()).startsWith("wrote " + page + ": 1 stream, ");
    String html = Files.readString(page);
    assertThat(html).startsWith("<!DOCTYPE html>").contains("<h2>orders</h2>")
        .contains("Lag (seconds behind the newest processed event)").contains("Throughput (events per second)")
        .doesNotContain("<script");
    assertThat(Pattern.compile("<polyline [^>]*points=\"([^\"]+)\"").matcher(html).results().count())
        .as("a lag line and a throughput line at least").isGreaterThanOrEqualTo(2);
    assertThat(get("/tidemark/samples")).contains("\"orders\"").contains("\"events\":" + (EVENTS + 1));
  }
}
