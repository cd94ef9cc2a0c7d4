package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.pattern.Patterns;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * Sharded workers on three actor systems in one JVM, on loopback ports: one pipeline reads the
 * change stream on the first node, the events run in entities keyed by documentKey on all three,
 * each key in order, nothing lost.
 */
class ShardedWorkersIT {
  private final Map<Integer, List<Integer>> versionsByKey = new ConcurrentHashMap<>();
  private final Set<String> nodesUsed = ConcurrentHashMap.newKeySet();
  private final AtomicInteger handled = new AtomicInteger();

  private CompletionStage<Done> handler(ActorSystem<?> node, ChangeEnvelope event) {
    int id = event.documentKey().getInt32("_id").getValue();
    int version = "insert".equals(event.operationType())
        ? 0
        : event.event().getUpdateDescription().getUpdatedFields().getInt32("v").getValue();
    versionsByKey.computeIfAbsent(id, k -> Collections.synchronizedList(new ArrayList<>())).add(version);
    nodesUsed.add(node.address().toString());
    return Patterns.after(Duration.ofMillis(1), node.classicSystem(), () -> {
      handled.incrementAndGet();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
  }

  @Test
  void oneReaderFeedsThreeNodesEachKeyInOrderNothingLost() throws Exception {
    List<ActorSystem<Void>> nodes = Clusters.start("sharded-it", 3, ConfigFactory.empty());
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      List<ShardedWorkers> workers = new ArrayList<>();
      for (ActorSystem<Void> node : nodes) workers.add(ShardedWorkers.init(node, "index", event -> handler(node, event)));

      PipelineControl control = Pipeline.named("sharded")
          .mongoClient(client)
          .collection("shop", "orders")
          .checkpoints(InMemoryCheckpointStore.create())
          .parallelism(8)
          .handle(workers.get(0))
          .run(nodes.get(0));
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);

      int keys = 30;
      int updates = 570;
      int[] version = new int[keys];
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int id = 0; id < keys; id++) MongoConnector.first(orders.insertOne(new Document("_id", id).append("v", 0))).get();
      Random random = new Random(3);
      for (int i = 0; i < updates; i++) {
        int id = random.nextInt(keys);
        MongoConnector.first(orders.updateOne(Filters.eq("_id", id), Updates.set("v", ++version[id]))).get();
      }
      Await.until(Duration.ofSeconds(90), () -> control.stats().window().completed() >= keys + updates,
          () -> "every event handled; " + control.stats().window().completed() + " of " + (keys + updates));
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

      assertThat(handled.get()).isEqualTo(keys + updates);
      for (int id = 0; id < keys; id++) {
        List<Integer> expected = new ArrayList<>();
        for (int v = 0; v <= version[id]; v++) expected.add(v);
        assertThat(versionsByKey.get(id)).as("versions of key %d in the order its worker ran them", id).isEqualTo(expected);
      }
      assertThat(nodesUsed).as("workers ran on every node").hasSize(3);
    } finally {
      Clusters.stopAll(nodes);
    }
  }
}
