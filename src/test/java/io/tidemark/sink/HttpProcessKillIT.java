package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.sun.net.httpserver.HttpServer;
import io.tidemark.Await;
import io.tidemark.ChangeWorkload;
import io.tidemark.Clusters;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code http} sink in {@code tidemark run}, the node killed with SIGKILL while inserts and
 * updates go on and a receiver (in the test, on a free port) takes the batches: after a restart the
 * receiver has had every change event of the collection at least once, and the events sent twice are
 * within the replay bound (window N + checkpoint interval K), each with the same idempotency key.
 */
class HttpProcessKillIT {
  private static final int INSERTS = 600;
  private static final int WINDOW = 100;
  private static final int EVERY = 50;

  @Test
  void atLeastOnceWithBoundedRepeatsAcrossAKillMinus9OfTheNode(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    Map<String, AtomicInteger> received = new ConcurrentHashMap<>(); // by the event's resume token _data
    Map<String, String> keys = new ConcurrentHashMap<>(); // the idempotency key each event came with first
    Set<String> keyMismatches = ConcurrentHashMap.newKeySet();
    HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    receiver.createContext("/hook", exchange -> {
      String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
      for (BsonValue element : BsonArray.parse(body)) {
        BsonDocument item = element.asDocument();
        BsonValue event = item.get("event");
        BsonDocument parsed = event.isDocument() ? event.asDocument() : BsonDocument.parse(event.asString().getValue());
        String token = parsed.getDocument("_id").getString("_data").getValue();
        received.computeIfAbsent(token, t -> new AtomicInteger()).incrementAndGet();
        String key = item.getString("key").getValue();
        String first = keys.putIfAbsent(token, key);
        if (first != null && !first.equals(key)) keyMismatches.add(token);
      }
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    receiver.start();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline { window-size = %d, checkpoint.every-events = %d }
            streams.orders-hook {
              source { database = http_kill, collection = orders }
              sink { type = http, url = "http://127.0.0.1:%d/hook", batch { max-events = 20, max-wait = 50ms } }
            }
          }
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s;DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0"
          """.formatted(mongo.connectionString(), WINDOW, EVERY, receiver.getAddress().getPort(), dir.resolve("checkpoints")));
      MongoCollection<Document> orders = client.getDatabase("http_kill").getCollection("orders");
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);

      int management = Clusters.freePort();
      Path firstLog = dir.resolve("first.log");
      Process first = TidemarkProcess.start(firstLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      CompletableFuture<Void> workload;
      int atKill;
      try {
        Await.until(Duration.ofSeconds(120), () -> TidemarkProcess.started(management).containsKey("orders-hook") || !first.isAlive(),
            () -> "the stream started; log:\n" + TidemarkProcess.read(firstLog));
        workload = CompletableFuture.runAsync(() -> ChangeWorkload.insertsAndUpdates(orders, INSERTS, 37));
        Await.until(Duration.ofSeconds(120), () -> received.size() >= 150 || !first.isAlive(),
            () -> "150 events received before the kill; log:\n" + TidemarkProcess.read(firstLog));
        assertThat(first.isAlive()).as("the first run; log:\n%s", TidemarkProcess.read(firstLog)).isTrue();
      } finally {
        first.destroyForcibly(); // SIGKILL: no drain, no last checkpoint
        first.waitFor(30, TimeUnit.SECONDS);
      }
      atKill = received.size();
      workload.get(180, TimeUnit.SECONDS);
      Set<String> expected = ChangeWorkload.tokensSince(orders, before, ChangeWorkload.events(INSERTS));

      Path secondLog = dir.resolve("second.log");
      Process second = TidemarkProcess.start(secondLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(180), () -> received.keySet().containsAll(expected) || !second.isAlive(),
            () -> expected.size() + " events received after the restart: " + received.size() + "; log:\n" + TidemarkProcess.read(secondLog));
        assertThat(second.isAlive()).as("the second run; log:\n%s", TidemarkProcess.read(secondLog)).isTrue();
      } finally {
        second.destroy();
        if (!second.waitFor(60, TimeUnit.SECONDS)) second.destroyForcibly();
      }

      long repeats = received.values().stream().mapToLong(count -> count.get() - 1).sum();
      System.out.printf("HttpProcessKillIT: %d change events, %d received at the kill, %d received again (bound N + K = %d)%n",
          expected.size(), atKill, repeats, WINDOW + EVERY);
      assertThat(received.keySet()).as("every change event of the collection, nothing else").isEqualTo(expected);
      assertThat(repeats).as("events sent again after the kill, at most N + K").isLessThanOrEqualTo(WINDOW + EVERY);
      assertThat(keyMismatches).as("an event sent again carries the idempotency key it first came with").isEmpty();
    } finally {
      receiver.stop(0);
    }
  }

}
