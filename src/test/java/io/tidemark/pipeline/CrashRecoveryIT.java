package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;

/**
 * The foundation's guarantee, end to end: a pipeline over 20,000 change events is killed with its
 * actor system partway through (no drain, no flush); a fresh system on the same stores resumes
 * from the durable checkpoint. No event is missing, and the replayed ones are at most N + K.
 */
class CrashRecoveryIT {
  private static final int EVENTS = 20_000;
  private static final WindowSettings WINDOW = WindowSettings.of(200, 300, Duration.ofMillis(250));

  private final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
  private final AtomicLong delivered = new AtomicLong();

  private PipelineControl start(ActorSystem<?> system, String uri) {
    return Pipeline.named("crash-test")
        .mongoUri(uri)
        .collection("shop", "orders")
        .checkpoints(JdbcCheckpointStore.create(system))
        .windowSettings(WINDOW)
        .via(FlowWithContext.<ChangeEnvelope, EventContext>create().mapAsync(1, event ->
            CompletableFuture.supplyAsync(() -> {
              deliveries.computeIfAbsent(event.resumeToken().getString("_data").getValue(), k -> new AtomicInteger()).incrementAndGet();
              delivered.incrementAndGet();
              return Done.getInstance();
            })))
        .run(system);
  }

  /** 20,000 events: inserts, then updates and deletes of some of them, in batches. */
  private static void write(MongoCollection<Document> orders) {
    int id = 0;
    int events = 0;
    while (events < EVENTS) {
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < 100; i++) batch.add(new Document("_id", id++).append("version", 0));
      block(orders.insertMany(batch));
      events += 100;
      int low = id - 100;
      block(orders.updateMany(Filters.and(Filters.gte("_id", low), Filters.lt("_id", low + 60)), Updates.inc("version", 1)));
      events += 60;
      block(orders.deleteMany(Filters.and(Filters.gte("_id", low + 60), Filters.lt("_id", low + 100))));
      events += 40;
    }
  }

  private static <T> T block(org.reactivestreams.Publisher<T> publisher) {
    try {
      return MongoConnector.first(publisher).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException(e);
    }
  }

  @Test
  void anAbruptStopLosesNoEventAndReplaysAtMostWindowPlusThrottle() throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Config config = TestConfigs.h2Journal("crash_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");

      ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "crash-first", config);
      PipelineControl firstRun = start(first, mongo.connectionString());
      firstRun.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> write(orders));
      Await.until(Duration.ofSeconds(60), () -> delivered.get() >= 7_000, () -> "7,000 events processed before the crash");
      first.terminate();
      first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      long beforeCrash = delivered.get();

      ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "crash-second", config);
      try {
        PipelineControl secondRun = start(second, mongo.connectionString());
        writer.get(120, TimeUnit.SECONDS);
        Set<String> expected = oplogTokens(client);
        assertThat(expected).hasSize(EVENTS);
        Await.until(Duration.ofSeconds(120), () -> deliveries.keySet().containsAll(expected),
            () -> "every event delivered; missing " + (expected.size() - deliveries.keySet().stream().filter(expected::contains).count()));
        secondRun.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

        long duplicates = deliveries.values().stream().mapToInt(AtomicInteger::get).sum() - deliveries.size();
        assertThat(deliveries.keySet()).containsAll(expected);
        assertThat(duplicates).isLessThanOrEqualTo(WINDOW.replayBound());
        assertThat(delivered.get() - beforeCrash).as("the second run resumed instead of starting over").isLessThan(EVENTS);
        System.out.printf("crash after %d events; %d replayed (bound %d)%n", beforeCrash, duplicates, WINDOW.replayBound());
      } finally {
        second.terminate();
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** The resume token of every event of shop.orders, from the oplog. */
  private static Set<String> oplogTokens(MongoClient client) {
    return Flux.from(client.getDatabase("local").getCollection("oplog.rs").find(Filters.eq("ns", "shop.orders")))
        .map(entry -> String.format("82%016x", entry.get("ts", BsonTimestamp.class).getValue()))
        .collect(Collectors.toSet())
        .block(Duration.ofSeconds(60));
  }
}
