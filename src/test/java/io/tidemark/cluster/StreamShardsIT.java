package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** Six streams on three nodes: one consumer each, spread over the nodes, every event delivered once. */
class StreamShardsIT {
  @Test
  void manyStreamsRunOnceEachSpreadOverTheNodes() throws Exception {
    int streams = 6;
    List<ActorSystem<Void>> nodes = Clusters.start("shards-it", 3, ConfigFactory.empty());
    Map<String, AtomicInteger> delivered = new ConcurrentHashMap<>();
    Map<String, Set<String>> hosts = new ConcurrentHashMap<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      for (ActorSystem<Void> node : nodes) {
        InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
        List<PipelineBuilder<?>> pipelines = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
          String stream = "stream-" + i;
          pipelines.add(Pipeline.named(stream)
              .mongoClient(client)
              .collection("shop", stream)
              .checkpoints(store)
              .mapAsync(event -> {
                delivered.computeIfAbsent(stream + "/" + event.documentKey().toJson(), k -> new AtomicInteger()).incrementAndGet();
                hosts.computeIfAbsent(stream, k -> ConcurrentHashMap.newKeySet()).add(node.address().toString());
                return CompletableFuture.completedFuture(Done.getInstance());
              }));
        }
        StreamShards.init(node, "it", pipelines, error -> { });
      }
      Await.until(Duration.ofSeconds(60),
          () -> nodes.stream().mapToLong(node -> RunningPipelines.get(node).all().stream()
              .filter(entry -> entry.control().stats().startedFrom() != null).count()).sum() == streams,
          () -> streams + " streams started");
      for (int i = 0; i < streams; i++) {
        for (int id = 0; id < 20; id++) {
          MongoConnector.first(client.getDatabase("shop").getCollection("stream-" + i).insertOne(new Document("_id", id))).get();
        }
      }
      Await.until(Duration.ofSeconds(60), () -> delivered.size() == streams * 20, () -> "every event delivered: " + delivered.size());

      assertThat(delivered.values()).allSatisfy(count -> assertThat(count.get()).isEqualTo(1));
      assertThat(hosts).hasSize(streams).allSatisfy((stream, onNodes) -> assertThat(onNodes).as(stream).hasSize(1));
      // Shards go to the regions the coordinator knows when they are first needed; the rebalance
      // (every 10 s) then spreads them, draining a stream on one node and starting it on another.
      Await.until(Duration.ofSeconds(60),
          () -> nodes.stream().filter(node -> !RunningPipelines.get(node).all().isEmpty()).count() > 1,
          () -> "streams spread over the nodes");
    } finally {
      Clusters.stopAll(nodes);
    }
  }

  @Test
  void aStreamThatStoppedForGoodIsNotStartedAgainByTheKeepAlive() throws Exception {
    List<ActorSystem<Void>> nodes = Clusters.start("shards-fatal", 1,
        ConfigFactory.parseString("akka.cluster.sharded-daemon-process.keep-alive-interval = 200ms"));
    try {
      AtomicInteger reported = new AtomicInteger();
      // A pipeline a person must fix: it has nothing to watch.
      PipelineBuilder<?> broken = Pipeline.named("broken").mongoUri("mongodb://127.0.0.1:9/").checkpoints(InMemoryCheckpointStore.create());
      StreamShards.init(nodes.get(0), "fatal", List.of(broken), error -> reported.incrementAndGet());

      Await.until(Duration.ofSeconds(20), () -> reported.get() >= 1, () -> "the broken stream reported");
      // Ten keep-alive rounds: none may start it again.
      Await.atMost(Duration.ofSeconds(2), () -> reported.get() > 1);
      assertThat(reported.get()).as("reported once, not restarted by every keep-alive").isEqualTo(1);
    } finally {
      Clusters.stopAll(nodes);
    }
  }

  /**
   * A node leaves gracefully while it runs a stream: the stream starts on another node at once,
   * not at the sharded daemon process's next keep-alive, here an hour away (the pinger itself is a
   * singleton on the oldest node: when the node that leaves is the oldest, its successor pings at
   * its start anyway; the stream's node here is any of the three).
   */
  @Test
  void aStreamWhoseNodeLeavesStartsOnAnotherWithoutWaitingForTheKeepAlive() throws Exception {
    List<ActorSystem<Void>> nodes = new ArrayList<>(Clusters.start("shards-leave", 3,
        ConfigFactory.parseString("akka.cluster.sharded-daemon-process.keep-alive-interval = 1h")));
    Map<Integer, AtomicInteger> delivered = new ConcurrentHashMap<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      for (ActorSystem<Void> node : nodes) {
        // Each node its own clients, as on separate machines.
        StreamShards.init(node, "leave", List.of(Pipeline.named("orders")
            .mongoUri(mongo.connectionString())
            .collection("shop", "orders")
            .checkpoints(store)
            .mapAsync(event -> {
              delivered.computeIfAbsent(event.documentKey().getInt32("_id").getValue(), k -> new AtomicInteger()).incrementAndGet();
              return CompletableFuture.completedFuture(Done.getInstance());
            })), error -> { });
      }
      Await.until(Duration.ofSeconds(60), () -> running(nodes) != null, () -> "the stream started");
      ActorSystem<Void> first = running(nodes);
      for (int id = 0; id < 20; id++) {
        MongoConnector.first(client.getDatabase("shop").getCollection("orders").insertOne(new Document("_id", id))).get();
      }
      Await.until(Duration.ofSeconds(60), () -> delivered.size() == 20, () -> "the first 20 events delivered: " + delivered.size());

      first.terminate(); // a graceful leave: coordinated shutdown hands the stream's shard off
      first.getWhenTerminated().toCompletableFuture().get(30, java.util.concurrent.TimeUnit.SECONDS);
      // By identity: a typed ActorSystem equals another of the same name (it compares as its guardian's
      // ActorRef, whose path and uid are the same on every node), so remove(first) would drop node 0.
      nodes.removeIf(node -> node == first);
      Await.until(Duration.ofSeconds(30), () -> running(nodes) != null, () -> "the stream started again on another node");
      for (int id = 20; id < 40; id++) {
        MongoConnector.first(client.getDatabase("shop").getCollection("orders").insertOne(new Document("_id", id))).get();
      }
      Await.until(Duration.ofSeconds(60), () -> delivered.size() == 40, () -> "every event delivered: " + delivered.size());
    } finally {
      Clusters.stopAll(nodes);
    }
  }

  /** The node whose consumer of the stream has started, if any. */
  private static ActorSystem<Void> running(List<ActorSystem<Void>> nodes) {
    return nodes.stream()
        .filter(node -> RunningPipelines.get(node).all().stream().anyMatch(entry -> entry.control().stats().startedFrom() != null))
        .findFirst().orElse(null);
  }
}
