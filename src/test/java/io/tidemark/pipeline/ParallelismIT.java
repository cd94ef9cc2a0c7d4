package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.pattern.Patterns;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.window.InFlightEvent;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.BsonDocument;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Parallelism P: different keys at once, one key in order; and the in-flight window, visible. */
class ParallelismIT extends io.tidemark.PipelineTestBase {
  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoClients.create(mongo.connectionString());

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  private static int id(ChangeEnvelope event) {
    return event.documentKey().getInt32("_id").getValue();
  }

  /** The document's version in this event: 0 for the insert, then what each update set. */
  private static int version(ChangeEnvelope event) {
    if ("insert".equals(event.operationType())) return 0;
    return event.event().getUpdateDescription().getUpdatedFields().getInt32("v").getValue();
  }

  @Test
  void eventsOfDifferentKeysRunInParallelAndEventsOfOneKeyInOrder() throws Exception {
    int keys = 40;
    int updates = 960;
    Map<Integer, List<Integer>> versionsByKey = new ConcurrentHashMap<>();
    Map<Integer, AtomicInteger> runningPerKey = new ConcurrentHashMap<>();
    AtomicInteger running = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    List<String> violations = Collections.synchronizedList(new ArrayList<>());
    Random random = new Random(7);

    PipelineControl control = Pipeline.named("parallel")
        .mongoClient(client)
        .collection("shop", "parallel")
        .checkpoints(InMemoryCheckpointStore.create())
        .windowSettings(WindowSettings.of(200, 100, Duration.ofMillis(100)))
        .parallelism(8)
        .mapAsync(event -> {
          int id = id(event);
          if (runningPerKey.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet() > 1) {
            violations.add("key " + id + " ran concurrently");
          }
          maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
          versionsByKey.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>())).add(version(event));
          long delay;
          synchronized (random) {
            delay = 1 + random.nextInt(5);
          }
          return Patterns.after(Duration.ofMillis(delay), testKit.system().classicSystem(), () -> {
            running.decrementAndGet();
            runningPerKey.get(id).decrementAndGet();
            return CompletableFuture.completedFuture(event);
          });
        })
        .run(testKit.system());
    track(control);
    control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);

    MongoCollection<Document> collection = client.getDatabase("shop").getCollection("parallel");
    int[] version = new int[keys];
    for (int id = 0; id < keys; id++) MongoConnector.first(collection.insertOne(new Document("_id", id).append("v", 0))).get();
    Random writes = new Random(11);
    for (int i = 0; i < updates; i++) {
      int id = writes.nextInt(keys);
      MongoConnector.first(collection.updateOne(Filters.eq("_id", id), Updates.set("v", ++version[id]))).get();
    }
    Await.until(Duration.ofSeconds(60), () -> control.stats().window().completed() >= keys + updates,
        () -> "all events processed: " + control.stats().window().completed());
    control.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);

    assertThat(violations).isEmpty();
    assertThat(maxRunning.get()).as("events of different keys ran at the same time").isGreaterThan(1).isLessThanOrEqualTo(8);
    for (int id = 0; id < keys; id++) {
      List<Integer> expected = new ArrayList<>();
      for (int v = 0; v <= version[id]; v++) expected.add(v);
      assertThat(versionsByKey.get(id)).as("versions of key %d in the order they ran", id).isEqualTo(expected);
    }
  }

  @Test
  void theInFlightWindowCanBeInspected() throws Exception {
    CompletableFuture<Void> gate = new CompletableFuture<>();
    PipelineControl control = track(Pipeline.named("inspect")
        .mongoClient(client)
        .collection("shop", "inspect")
        .checkpoints(InMemoryCheckpointStore.create())
        .parallelism(8)
        .mapAsync(event -> id(event) == 3 ? gate.thenApply(open -> event) : CompletableFuture.completedFuture(event))
        .run(testKit.system()));
    control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
    MongoCollection<Document> collection = client.getDatabase("shop").getCollection("inspect");
    for (int id = 0; id < 6; id++) MongoConnector.first(collection.insertOne(new Document("_id", id))).get();

    List<List<InFlightEvent>> seen = new ArrayList<>();
    Await.until(Duration.ofSeconds(10), () -> {
      List<InFlightEvent> now = control.inFlight().toCompletableFuture().join();
      seen.add(now);
      return now.size() == 3;
    }, () -> "events #4..#6 in flight behind #4 (id 3); saw " + seen.get(seen.size() - 1));
    List<InFlightEvent> inFlight = control.inFlight().toCompletableFuture().get(5, TimeUnit.SECONDS);
    assertThat(inFlight).extracting(InFlightEvent::documentKey)
        .containsExactly(BsonDocument.parse("{_id: 3}"), BsonDocument.parse("{_id: 4}"), BsonDocument.parse("{_id: 5}"));
    assertThat(inFlight.get(0).completed()).as("id 3 is held").isFalse();
    assertThat(inFlight.get(0).seqNr()).isEqualTo(4);
    assertThat(inFlight.get(0).resumeToken()).isNotNull();
    assertThat(inFlight.get(0).age(Instant.now())).isGreaterThanOrEqualTo(Duration.ZERO);

    gate.complete(null);
    Await.until(Duration.ofSeconds(10), () -> control.inFlight().toCompletableFuture().join().isEmpty(), () -> "the window drained");
    control.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(control.inFlight().toCompletableFuture().get(5, TimeUnit.SECONDS)).isEmpty();
  }
}
