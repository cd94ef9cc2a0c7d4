package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.read.ListAppender;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.sun.net.httpserver.HttpServer;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.connection.MongoConnector;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceStreams;
import io.tidemark.testkit.FaultyMongo;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The service's {@code http} sink against a receiver in the test (the JDK's HTTP server on a free
 * port) and the embedded server: batching, retries, dead letters, a stop, headers from the
 * environment that are never logged, and a crash whose replays carry the same keys.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpSinkIT {
  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults());
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
  private Receiver receiver;

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  @BeforeEach
  void startReceiver() throws IOException {
    receiver = new Receiver();
  }

  @AfterEach
  void stopReceiver() {
    receiver.close();
  }

  /** One request as the receiver got it, and what it answered. */
  private record Request(String idempotencyKey, Map<String, String> headers, List<BsonDocument> elements, int status) {
    List<Object> ids() {
      return elements.stream().map(element -> (Object) idOf(element)).toList();
    }
  }

  private static int idOf(BsonDocument element) {
    return element.getDocument("event").getDocument("documentKey").getInt32("_id").getValue();
  }

  /** A webhook receiver on a free port of 127.0.0.1, answering each request as {@link #answer} says. */
  private static final class Receiver implements AutoCloseable {
    final HttpServer server;
    final List<Request> requests = new CopyOnWriteArrayList<>();
    volatile Function<List<BsonDocument>, Integer> answer = elements -> 200;
    /** Completed to let the first request be answered; until then it waits. */
    volatile CompletableFuture<Void> firstAnswer = CompletableFuture.completedFuture(null);

    Receiver() throws IOException {
      server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
      server.setExecutor(Executors.newFixedThreadPool(4));
      server.createContext("/hook", exchange -> {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        List<BsonDocument> elements = BsonArray.parse(body).stream().map(BsonValue::asDocument).toList();
        Map<String, String> headers = new HashMap<>();
        exchange.getRequestHeaders().forEach((name, values) -> headers.put(name.toLowerCase(java.util.Locale.ROOT), String.join(",", values)));
        if (requests.isEmpty()) firstAnswer.join();
        int status = answer.apply(elements);
        requests.add(new Request(headers.get("idempotency-key"), headers, elements, status));
        byte[] reply = (status < 300 ? "ok" : "no: made-up failure " + status).getBytes(StandardCharsets.UTF_8);
        exchange.sendResponseHeaders(status, reply.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(reply);
        }
      });
      server.start();
    }

    String url() {
      return "http://127.0.0.1:" + server.getAddress().getPort() + "/hook";
    }

    /** The elements of the requests answered 2xx, in the order received. */
    List<BsonDocument> accepted() {
      return requests.stream().filter(request -> request.status() < 300).flatMap(request -> request.elements().stream()).toList();
    }

    @Override
    public void close() {
      server.stop(0);
      ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
  }

  private Config config(String streams) {
    return ConfigFactory.parseString(streams + "\n"
            + "tidemark.mongodb.uri = \"" + mongo.uri() + "\"\n"
            + "tidemark.pipeline.on-failure.restart-min-backoff = 50ms\n"
            + "tidemark.pipeline.on-failure.restart-max-backoff = 200ms\n")
        .withFallback(ConfigFactory.load()).resolve();
  }

  /** One node's run of the configured stream. */
  private final class Run {
    final ActorSystem<Void> system;
    final ServiceStreams streams;
    final HttpSink sink;
    final PipelineControl control;

    Run(Config config, String name, CheckpointStore checkpoints) {
      this(config, ServiceStreams.check(config, HttpSinkIT.class.getClassLoader()), name, checkpoints);
    }

    Run(Config config, ServiceStreams.Checked checked, String name, CheckpointStore checkpoints) {
      system = ActorSystem.create(Behaviors.empty(), "http-sink-" + System.nanoTime(), config);
      streams = ServiceStreams.create(system, checked);
      sink = (HttpSink) streams.sink(name);
      control = streams.pipeline(name, mongo.uri(), checkpoints, null).run(system);
      try {
        control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new AssertionError("the stream did not start", e);
      }
    }

    /** Abrupt: no drain, no checkpoint flush. */
    void crash() throws Exception {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      streams.close();
    }

    void stop() throws Exception {
      try {
        control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } finally {
        crash();
      }
    }
  }

  private static final String DB = "hook_db";

  /** 30 inserts (_id 0..29), 10 updates of 0..9, 5 deletes of 10..14: 45 events of {@code collection}, in this order. */
  private void workload(String collection) {
    var orders = mongo.database(DB).getCollection(collection);
    for (int i = 0; i < 30; i++) orders.insertOne(new Document("_id", i).append("name", "order " + i));
    for (int i = 0; i < 10; i++) orders.updateOne(Filters.eq("_id", i), Updates.set("name", "renamed " + i));
    for (int i = 10; i < 15; i++) orders.deleteOne(Filters.eq("_id", i));
  }

  private static List<String> workloadOrder() {
    List<String> order = new ArrayList<>();
    for (int i = 0; i < 30; i++) order.add("insert " + i);
    for (int i = 0; i < 10; i++) order.add("update " + i);
    for (int i = 10; i < 15; i++) order.add("delete " + i);
    return order;
  }

  private static List<String> events(List<BsonDocument> elements) {
    return elements.stream().map(element -> element.getDocument("event").getString("operationType").getValue() + " " + idOf(element))
        .toList();
  }

  @Test
  void batchesOfAtMostMaxEventsInStreamOrderEachEventWithItsKey() throws Exception {
    receiver.firstAnswer = new CompletableFuture<>(); // the first request waits until every event is written: batches fill up
    Run run = new Run(config("""
        tidemark.streams.orders-hook {
          source { database = %s, collection = batched }
          sink { type = http, url = "%s", batch { max-events = 10, max-wait = 200ms } }
        }
        """.formatted(DB, receiver.url())), "orders-hook", InMemoryCheckpointStore.create());
    try {
      workload("batched");
      receiver.firstAnswer.complete(null);
      Await.until(Duration.ofSeconds(30), () -> receiver.accepted().size() >= 45, () -> "45 events accepted: " + receiver.requests);
    } finally {
      run.stop();
    }
    List<BsonDocument> accepted = receiver.accepted();
    assertThat(events(accepted)).as("each event once, in stream order").containsExactlyElementsOf(workloadOrder());
    List<String> keys = accepted.stream().map(element -> element.getString("key").getValue()).toList();
    assertThat(keys).doesNotHaveDuplicates().allMatch(key -> key.matches("orders-hook:[0-9a-f]{64}"));
    assertThat(receiver.requests).allSatisfy(request -> {
      assertThat(request.elements()).hasSizeBetween(1, 10);
      assertThat(request.headers()).containsEntry("content-type", "application/json").containsEntry("user-agent", "tidemark");
      List<String> itsKeys = request.elements().stream().map(element -> element.getString("key").getValue()).toList();
      assertThat(request.idempotencyKey()).isEqualTo(itsKeys.size() == 1 ? itsKeys.get(0)
          : "orders-hook:batch:" + sha256(String.join("\n", itsKeys)));
    });
    assertThat(receiver.requests).as("batched").anyMatch(request -> request.elements().size() == 10);
    assertThat(receiver.requests.stream().map(Request::idempotencyKey)).doesNotHaveDuplicates();
    assertThat(run.sink.posted()).isEqualTo(45);
  }

  @Test
  void aReceiverThatFailsTwiceGetsTheSameBatchAgainAndNothingIsLost() throws Exception {
    receiver.answer = elements -> receiver.requests.size() < 2 ? 500 : 200;
    Run run = new Run(config("""
        tidemark.streams.retried-hook {
          source { database = %s, collection = retried }
          sink { type = http, url = "%s", retry { min-backoff = 50ms, max-backoff = 100ms, max-attempts = 5 } }
        }
        """.formatted(DB, receiver.url())), "retried-hook", InMemoryCheckpointStore.create());
    try {
      workload("retried");
      Await.until(Duration.ofSeconds(30), () -> receiver.accepted().size() >= 45, () -> "45 events accepted: " + receiver.requests);
    } finally {
      run.stop();
    }
    List<Request> requests = receiver.requests;
    assertThat(requests.get(0).status()).isEqualTo(500);
    assertThat(requests.get(1).status()).isEqualTo(500);
    assertThat(requests.get(2).status()).isEqualTo(200);
    assertThat(requests.get(1).elements()).as("the same batch again").isEqualTo(requests.get(0).elements());
    assertThat(requests.get(2).elements()).isEqualTo(requests.get(0).elements());
    assertThat(requests.get(2).idempotencyKey()).isEqualTo(requests.get(0).idempotencyKey());
    assertThat(events(receiver.accepted())).as("nothing lost, nothing twice, in order").containsExactlyElementsOf(workloadOrder());
    assertThat(run.sink.retries()).isEqualTo(2);
    assertThat(run.sink.deadLettered()).isZero();
  }

  @Test
  void aBatchGivenUpOnIsDeadLetteredAndTheStreamGoesOn() throws Exception {
    receiver.answer = elements -> elements.stream().anyMatch(element -> idOf(element) == 3) ? 500
        : elements.stream().anyMatch(element -> idOf(element) == 7) ? 400 : 200;
    Run run = new Run(config("""
        tidemark.streams.dead-hook {
          source { database = %s, collection = dead }
          sink {
            type = http, url = "%s"
            batch.max-events = 1
            retry { min-backoff = 20ms, max-backoff = 50ms, max-attempts = 3 }
            dead-letter { enabled = on, database = hook_dead, collection = letters }
          }
        }
        """.formatted(DB, receiver.url())), "dead-hook", InMemoryCheckpointStore.create());
    try {
      var dead = mongo.database(DB).getCollection("dead");
      for (int i = 0; i < 10; i++) dead.insertOne(new Document("_id", i));
      Await.until(Duration.ofSeconds(30), () -> receiver.accepted().size() >= 8 && run.sink.deadLettered() == 2,
          () -> "8 events accepted and 2 dead-lettered: " + receiver.requests);
    } finally {
      run.stop();
    }
    assertThat(receiver.accepted()).extracting(HttpSinkIT::idOf).containsExactly(0, 1, 2, 4, 5, 6, 8, 9);
    assertThat(receiver.requests).filteredOn(request -> request.ids().equals(List.of(3))).as("500: tried 3 times").hasSize(3);
    assertThat(receiver.requests).filteredOn(request -> request.ids().equals(List.of(7))).as("400: not tried again").hasSize(1);
    List<Document> letters = mongo.database("hook_dead").getCollection("letters").find(Filters.eq("stream", "dead-hook"))
        .sort(new Document("clusterTime", 1)).into(new ArrayList<>());
    assertThat(letters).hasSize(2);
    assertThat(letters.get(0).get("documentKey", Document.class).getInteger("_id")).isEqualTo(3);
    assertThat(letters.get(0).getInteger("attempts")).isEqualTo(3);
    assertThat(letters.get(0).getString("error")).contains("was answered 500 (no: made-up failure 500) after 3 attempts");
    assertThat(letters.get(1).get("documentKey", Document.class).getInteger("_id")).isEqualTo(7);
    assertThat(letters.get(1).getInteger("attempts")).isEqualTo(1);
    assertThat(letters.get(1).getString("error")).contains("was answered 400").contains("after 1 attempt");
    assertThat(letters.get(1).get("event", Document.class).getString("operationType")).isEqualTo("insert");
  }

  @Test
  void withoutDeadLettersTheStreamStopsAndNeitherTheTokenNorTheUrlsQueryIsLogged(@TempDir Path dir) throws Exception {
    String token = "s3cret-hook-token";
    String query = "sig=url-secret-42";
    Path file = dir.resolve("hook.conf");
    Files.writeString(file, """
        tidemark.streams.stopping-hook {
          source { database = %s, collection = stopping }
          sink {
            type = http
            url = "%s?%s"
            headers { authorization = "Bearer "${?HOOK_TOKEN}, x-tenant = shop }
            retry { min-backoff = 20ms, max-backoff = 50ms, max-attempts = 3 }
          }
        }
        """.formatted(DB, receiver.url(), query));
    Config loaded = ServiceConfig.load(file, Map.of(), Map.of("HOOK_TOKEN", token));
    ServiceStreams.Checked checked = ServiceStreams.check(loaded, getClass().getClassLoader());
    receiver.answer = elements -> 503;

    LoggerContext logging = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    logged.setContext(logging);
    logged.start();
    logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).addAppender(logged);
    Run run = null;
    try {
      run = new Run(config(""), checked, "stopping-hook", InMemoryCheckpointStore.create());
      mongo.database(DB).getCollection("stopping").insertOne(new Document("_id", 1));
      Throwable stopped = Await.failureOf(run.control.completion());
      assertThat(stopped).isInstanceOf(TidemarkException.class)
          .hasMessageContaining("stream 'stopping-hook': the http sink's POST of event #")
          .hasMessageContaining(receiver.url() + "?... was answered 503")
          .hasMessageContaining("after 3 attempts; the stream stops");
    } finally {
      logging.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).detachAppender(logged);
      if (run != null) run.crash();
    }
    assertThat(receiver.requests).hasSize(3).allSatisfy(request -> {
      assertThat(request.headers()).containsEntry("authorization", "Bearer " + token).containsEntry("x-tenant", "shop");
      assertThat(request.ids()).containsExactly(1);
    });
    List<String> lines = logged.list.stream()
        .map(event -> event.getFormattedMessage() + (event.getThrowableProxy() == null ? "" : ThrowableProxyUtil.asString(event.getThrowableProxy())))
        .toList();
    assertThat(lines).as("the sink logged its attempts").anyMatch(line -> line.contains("attempt 1 of 3"));
    assertThat(lines).noneMatch(line -> line.contains(token)).noneMatch(line -> line.contains("url-secret"));
  }

  /**
   * The node crashes (its actor system, no drain, no checkpoint flush) with 200 of 600 events
   * accepted; the restart sends again what the checkpoint had not passed: every event arrives, and
   * each repeated one with the key and the event it had the first time, so the receiver can drop it.
   */
  @Test
  void aCrashSendsSomeEventsAgainWithTheSameKeysAndLosesNone() throws Exception {
    Config config = config("""
        tidemark.streams.crash-hook {
          source { database = %s, collection = crashed }
          sink { type = http, url = "%s", batch.max-events = 20 }
        }
        tidemark.pipeline.parallelism = 4
        """.formatted(DB, receiver.url()));
    CheckpointStore checkpoints = InMemoryCheckpointStore.create();
    int events = 600;
    Run first = new Run(config, "crash-hook", checkpoints);
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      var crashed = mongo.database(DB).getCollection("crashed");
      for (int i = 0; i < events / 2; i++) crashed.insertOne(new Document("_id", i).append("version", 0));
      for (int i = 0; i < events / 2; i++) crashed.updateOne(Filters.eq("_id", i), Updates.set("version", 1));
    });
    try {
      Await.until(Duration.ofSeconds(60), () -> receiver.accepted().size() >= 200, () -> "200 events accepted");
    } finally {
      first.crash();
    }
    writer.get(60, TimeUnit.SECONDS);
    Run second = new Run(config, "crash-hook", checkpoints);
    try {
      Await.until(Duration.ofSeconds(60), () -> distinctKeys(receiver.accepted()).size() >= events,
          () -> events + " distinct events accepted, got " + distinctKeys(receiver.accepted()).size());
    } finally {
      second.stop();
    }
    List<BsonDocument> accepted = receiver.accepted();
    Map<String, BsonDocument> byKey = new HashMap<>();
    for (BsonDocument element : accepted) {
      BsonDocument earlier = byKey.putIfAbsent(element.getString("key").getValue(), element.getDocument("event"));
      if (earlier != null) assertThat(element.getDocument("event")).as("a repeated key carries the same event").isEqualTo(earlier);
    }
    assertThat(byKey).hasSize(events);
    Set<String> inserted = new HashSet<>(events(accepted));
    for (int i = 0; i < events / 2; i++) assertThat(inserted).contains("insert " + i, "update " + i);
    System.out.printf("http sink: %d events, %d sent again after the crash, each with its first key%n", events, accepted.size() - events);
  }

  private static String sha256(String text) throws java.security.NoSuchAlgorithmException {
    return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
  }

  private static Set<String> distinctKeys(List<BsonDocument> elements) {
    Set<String> keys = new HashSet<>();
    for (BsonDocument element : elements) keys.add(element.getString("key").getValue());
    return keys;
  }
}
