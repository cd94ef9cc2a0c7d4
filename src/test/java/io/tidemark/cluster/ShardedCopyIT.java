package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.pattern.Patterns;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * A snapshot's chunks copied on the nodes of a three-node cluster in one JVM (issue 16): the
 * stream's consumer on the first node asks for the batches, C = 4 chunks at a time, the sharded copy
 * workers read them and run their documents through the handler on all nodes; one worker node is
 * killed mid-copy (its actor system terminated, no leave, no drain) while a writer inserts, updates
 * and deletes. The copy goes on with that node's chunks on the survivors; the view ends equal to the
 * collection, nothing that existed before the copy is missed, and only the batches in flight on the
 * killed node are copied again.
 */
class ShardedCopyIT {
  private static final String DB = "copies";
  private static final int DOCUMENTS = 24_000;
  private static final int PARALLELISM = 4;
  private static final int BATCH = 200;
  private static final long CHUNK_SIZE = 2_000;

  /** The view every node writes into (id → version), and what the copy workers did. */
  private final Map<Integer, Integer> view = new HashMap<>();
  private final Map<Integer, AtomicInteger> copies = new ConcurrentHashMap<>();
  /** The node that copied each document first. */
  private final Map<Integer, Integer> firstCopiedOn = new ConcurrentHashMap<>();
  private final AtomicLong[] copiedOn = {new AtomicLong(), new AtomicLong(), new AtomicLong()};
  private final AtomicBoolean[] dead = {new AtomicBoolean(), new AtomicBoolean(), new AtomicBoolean()};

  private void apply(ChangeEnvelope event) {
    if (event.documentKey() == null) return;
    int id = event.documentKey().getInt32("_id").getValue();
    Document full = event.fullDocument();
    synchronized (view) {
      if ("delete".equals(event.operationType())) view.remove(id);
      else if (full != null) view.put(id, full.getInteger("version"));
    }
  }

  /** The copy workers' handler on node {@code node}: it writes the view and notes who copied what. */
  private CompletionStage<Done> copyHandler(ActorSystem<?> system, int node, ChangeEnvelope copy) {
    if (dead[node].get()) return new CompletableFuture<>(); // its node is gone: nothing it does any more counts
    int id = copy.documentKey().getInt32("_id").getValue();
    copies.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
    firstCopiedOn.putIfAbsent(id, node);
    copiedOn[node].incrementAndGet();
    apply(copy);
    // A scheduler tick per document (64 at a time): a batch takes a few ticks, so the kill is likely to find batches in flight.
    return Patterns.after(Duration.ofMillis(1), system.classicSystem(), () -> CompletableFuture.completedFuture(Done.getInstance()));
  }

  private static Map<Integer, Integer> source(MongoCollection<Document> collection) {
    Map<Integer, Integer> versions = new HashMap<>();
    for (Document document : collection.find()) versions.put(document.getInteger("_id"), document.getInteger("version"));
    return versions;
  }

  private Map<Integer, Integer> viewNow() {
    synchronized (view) {
      return new HashMap<>(view);
    }
  }

  /** Updates and deletes anywhere, inserts after the collection's ids, until stopped; notes what it deleted. */
  private static CompletableFuture<Void> writer(
      MongoCollection<Document> collection, int firstNew, AtomicBoolean stop, AtomicLong writes, Set<Integer> deleted) {
    return CompletableFuture.runAsync(() -> {
      Random random = new Random(16);
      int next = firstNew;
      while (!stop.get()) {
        collection.insertOne(new Document("_id", next++).append("version", 0));
        collection.updateOne(Filters.eq("_id", random.nextInt(next)), Updates.inc("version", 1));
        int gone = random.nextInt(next);
        if (collection.deleteOne(Filters.eq("_id", gone)).getDeletedCount() > 0) deleted.add(gone);
        writes.addAndGet(3);
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(5).toNanos()); // pacing, not synchronisation
      }
    });
  }

  /** Three nodes with the product's cluster timings, checkpoints on one shared H2 database, and quick resends of copy asks. */
  private static Config cluster() {
    return TestConfigs.h2Journal("sharded_copy_" + Long.toHexString(System.nanoTime()))
        .withFallback(ConfigFactory.parseString(String.join("\n",
            "akka.coordinated-shutdown.run-by-actor-system-terminate = off", // terminate() is a crash: no leave, no hand-off
            "tidemark.pipeline.parallelism = 64",
            "tidemark.sharding.copy-ask-timeout = 2s",
            "tidemark.sharding.retry-max-backoff = 1s",
            "tidemark.sharding.delivery-attempts = 30")))
        .withFallback(ConfigFactory.parseFile(new java.io.File("conf/cluster.conf")).getConfig("akka").atKey("akka")
            .withoutPath("akka.remote").withoutPath("akka.cluster.seed-nodes").withoutPath("akka.coordinated-shutdown"));
  }

  private static void fill(MongoCollection<Document> orders, int documents) {
    for (int low = 0; low < documents; low += 1000) {
      List<Document> batch = new ArrayList<>();
      for (int id = low; id < Math.min(documents, low + 1000); id++) batch.add(new Document("_id", id).append("version", 0));
      orders.insertMany(batch);
    }
  }

  /** The stream: the copy by the copy workers, then the change events into the view through its own stage. */
  private PipelineControl run(ActorSystem<?> node, MongoClient client, JdbcCheckpointStore store, ShardedCopyWorkers workers,
      WindowSettings window, int batch, long chunkSize) {
    return Pipeline.named("orders-view")
        .mongoClient(client)
        .collection(DB, "orders")
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(store)
        .windowSettings(window)
        .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
        .startup(StartupMode.SNAPSHOT_THEN_STREAM)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(batch).withParallelism(PARALLELISM).withChunkSize(chunkSize)
            .withProgressInterval(Duration.ofSeconds(2)).withCopyWorkers(workers))
        .mapAsync(event -> {
          apply(event); // the change events after the copy: the copies went through the workers' handler
          return CompletableFuture.completedFuture(event);
        })
        .run(node);
  }

  private void awaitViewEqualsSource(MongoCollection<Document> orders) {
    Await.until(Duration.ofSeconds(60), () -> viewNow().equals(source(orders)), () -> {
      Map<Integer, Integer> source = source(orders);
      Map<Integer, Integer> seen = viewNow();
      long missing = source.keySet().stream().filter(id -> !seen.containsKey(id)).count();
      long extra = seen.keySet().stream().filter(id -> !source.containsKey(id)).count();
      long stale = source.entrySet().stream().filter(e -> seen.containsKey(e.getKey()) && !e.getValue().equals(seen.get(e.getKey()))).count();
      return "the view equal to the source: " + missing + " missing, " + extra + " extra, " + stale + " stale of " + source.size();
    });
  }

  /** Documents copied more than once, and how many times more. */
  private Map<Integer, Integer> recopied() {
    Map<Integer, Integer> recopied = new HashMap<>();
    copies.forEach((id, count) -> {
      if (count.get() > 1) recopied.put(id, count.get() - 1);
    });
    return recopied;
  }

  @Test
  void aCopySpreadOverThreeNodesWithOneKilledMissesNothingAndRecopiesOnlyItsBatchesInFlight() throws Exception {
    List<ActorSystem<Void>> nodes = Clusters.start("sharded-copy-it", 3, cluster());
    List<MongoClient> clients = new ArrayList<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = sync.getDatabase(DB).getCollection("orders");
      fill(orders, DOCUMENTS);
      List<ShardedCopyWorkers> workers = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        ActorSystem<Void> node = nodes.get(i);
        int index = i;
        MongoClient client = MongoClients.create(mongo.connectionString());
        clients.add(client);
        workers.add(ShardedCopyWorkers.init(node, "orders-view", client, copy -> copyHandler(node, index, copy)));
      }
      JdbcCheckpointStore store = JdbcCheckpointStore.create(nodes.get(0));
      PipelineControl control = run(nodes.get(0), clients.get(0), store, workers.get(0), WindowSettings.of(100, 20, Duration.ofMillis(200)),
          BATCH, CHUNK_SIZE);
      var progress = control.stats().snapshot();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      Set<Integer> deleted = ConcurrentHashMap.newKeySet();
      CompletableFuture<Void> writer = writer(orders, DOCUMENTS, stop, writes, deleted);
      int victim;
      long copiedAtKill;
      try {
        // Kill a worker node (never the consumer's, the first) once it has copied some of its chunks' documents.
        Await.until(Duration.ofSeconds(60), () -> copies.size() >= DOCUMENTS / 4 && (copiedOn[1].get() > 0 || copiedOn[2].get() > 0),
            () -> "a quarter of the copy done, some of it on the second or third node: " + copies.size() + " copied, by node "
                + List.of(copiedOn[0].get(), copiedOn[1].get(), copiedOn[2].get()));
        victim = copiedOn[1].get() >= copiedOn[2].get() ? 1 : 2;
        copiedAtKill = copies.size();
        dead[victim].set(true);
        nodes.get(victim).terminate();
        nodes.get(victim).getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        clients.get(victim).close();

        Await.until(Duration.ofSeconds(60), () -> progress.at() != null && !progress.running(), () -> "the copy complete: " + progress.describe()
            + "; copied by node " + List.of(copiedOn[0].get(), copiedOn[1].get(), copiedOn[2].get()));
        long afterCopy = writes.get();
        Await.until(Duration.ofSeconds(30), () -> writes.get() >= afterCopy + 300, () -> "300 writes after the copy");
      } finally {
        stop.set(true);
      }
      writer.get(30, TimeUnit.SECONDS);
      awaitViewEqualsSource(orders);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

      // Every document that existed before the copy and was not deleted was copied.
      List<Integer> notCopied = new ArrayList<>();
      for (int id = 0; id < DOCUMENTS; id++) if (!deleted.contains(id) && !copies.containsKey(id)) notCopied.add(id);
      assertThat(notCopied).as("documents that existed before the copy, are still there, and were not copied").isEmpty();

      // Re-copies: only the batches in flight on the killed node, each at most B documents, one per chunk it was copying.
      Map<Integer, Integer> recopied = recopied();
      long recopies = recopied.values().stream().mapToLong(Integer::longValue).sum();
      long bound = (long) PARALLELISM * BATCH;
      List<Integer> recopiedElsewhere = recopied.keySet().stream().filter(id -> firstCopiedOn.get(id) != victim).toList();
      System.out.printf("sharded copy: %d documents, by node %s; node %d killed after %d copied; %d re-copied (bound C x B = %d); resends %d;"
              + " %d writes%n", copies.size(), List.of(copiedOn[0].get(), copiedOn[1].get(), copiedOn[2].get()), victim, copiedAtKill,
          recopies, bound, workers.get(0).resent(), writes.get());
      assertThat(recopiedElsewhere).as("re-copied documents first copied on a node that did not die").isEmpty();
      assertThat(recopies).as("documents copied again: at most a batch of each chunk in flight on the killed node").isLessThanOrEqualTo(bound);
      assertThat(recopied.values()).as("no document copied more than twice").allMatch(count -> count == 1);

      // The copy ran on at least two nodes, and the consumer checkpointed its chunks' positions.
      long nodesThatCopied = java.util.Arrays.stream(copiedOn).filter(count -> count.get() > 0).count();
      assertThat(nodesThatCopied).as("nodes that copied").isGreaterThanOrEqualTo(2);
      var record = store.open("orders-view").toCompletableFuture().get(30, TimeUnit.SECONDS);
      Checkpoint last = record.load().toCompletableFuture().get(30, TimeUnit.SECONDS).orElseThrow();
      record.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(last.kind()).as("the last checkpoint: the stream's, after the copy").isNotEqualTo(CheckpointKind.SNAPSHOT);
    } finally {
      for (MongoClient client : clients) client.close();
      Clusters.stopAll(nodes);
    }
  }

  /**
   * The consumer's node (also a worker, and the shard coordinator's) killed mid-copy: a consumer
   * started on another node goes on from the durable checkpoint — the chunks' positions the batches
   * built — and re-copies at most (N + K + C) × B documents: the answers after the saved prefix and
   * the batches in flight. Nothing that existed before the copy is missed; the view equals the source.
   */
  @Test
  void aCopyWhoseConsumersNodeIsKilledGoesOnFromItsCheckpointOnAnotherNode() throws Exception {
    int documents = 9_600;
    int batch = 100;
    WindowSettings window = WindowSettings.of(4, 2, Duration.ofMillis(200));
    List<ActorSystem<Void>> nodes = Clusters.start("sharded-copy-consumer-it", 3, cluster());
    List<MongoClient> clients = new ArrayList<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = sync.getDatabase(DB).getCollection("orders");
      fill(orders, documents);
      List<ShardedCopyWorkers> workers = new ArrayList<>();
      for (int i = 0; i < nodes.size(); i++) {
        ActorSystem<Void> node = nodes.get(i);
        int index = i;
        MongoClient client = MongoClients.create(mongo.connectionString());
        clients.add(client);
        workers.add(ShardedCopyWorkers.init(node, "orders-view", client, copy -> copyHandler(node, index, copy)));
      }
      run(nodes.get(0), clients.get(0), JdbcCheckpointStore.create(nodes.get(0)), workers.get(0), window, batch, 800);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      Set<Integer> deleted = ConcurrentHashMap.newKeySet();
      CompletableFuture<Void> writer = writer(orders, documents, stop, writes, deleted);
      long copiedAtKill;
      PipelineControl successor;
      try {
        Await.until(Duration.ofSeconds(60), () -> copies.size() >= documents / 3, () -> "a third of the copy done: " + copies.size());
        copiedAtKill = copies.size();
        dead[0].set(true);
        nodes.get(0).terminate(); // the consumer, a worker and the shard coordinator: no leave, no drain, no last checkpoint
        nodes.get(0).getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        clients.get(0).close();
        // What the cluster singleton would do once the node is downed: the stream's consumer on another node.
        successor = run(nodes.get(1), clients.get(1), JdbcCheckpointStore.create(nodes.get(1)), workers.get(1), window, batch, 800);
        var progress = successor.stats().snapshot();
        Await.until(Duration.ofSeconds(60), () -> progress.at() != null && !progress.running(), () -> "the copy complete: " + progress.describe()
            + "; copied by node " + List.of(copiedOn[0].get(), copiedOn[1].get(), copiedOn[2].get()));
        long afterCopy = writes.get();
        Await.until(Duration.ofSeconds(30), () -> writes.get() >= afterCopy + 300, () -> "300 writes after the copy");
      } finally {
        stop.set(true);
      }
      writer.get(30, TimeUnit.SECONDS);
      awaitViewEqualsSource(orders);
      successor.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

      List<Integer> notCopied = new ArrayList<>();
      for (int id = 0; id < documents; id++) if (!deleted.contains(id) && !copies.containsKey(id)) notCopied.add(id);
      assertThat(notCopied).as("documents that existed before the copy, are still there, and were not copied").isEmpty();
      long recopies = recopied().values().stream().mapToLong(Integer::longValue).sum();
      long bound = (long) (window.size + window.checkpointEveryEvents + PARALLELISM) * batch;
      System.out.printf("sharded copy, consumer killed: %d documents, by node %s; node 0 killed after %d copied; %d re-copied (bound (N + K + C) x B"
          + " = %d)%n", copies.size(), List.of(copiedOn[0].get(), copiedOn[1].get(), copiedOn[2].get()), copiedAtKill, recopies, bound);
      assertThat(recopies).as("documents copied again after the consumer's node died").isLessThanOrEqualTo(bound);
      assertThat(copiedOn[1].get() + copiedOn[2].get()).as("copied by the surviving nodes").isPositive();
    } finally {
      for (MongoClient client : clients) client.close();
      Clusters.stopAll(nodes.subList(1, nodes.size()));
    }
  }

  /**
   * A database of three collections (one empty) copied several collections at once by the copy
   * workers, on a cluster of one node: each document copied once, the view equal to the database.
   */
  @Test
  void aDatabaseCopiedSeveralCollectionsAtOnceByTheCopyWorkersCopiesEachDocumentOnce() throws Exception {
    List<ActorSystem<Void>> nodes = Clusters.start("sharded-copy-database-it", 1, cluster());
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Map<Integer, Integer> expected = new HashMap<>();
      for (int c = 0; c < 3; c++) {
        MongoCollection<Document> collection = sync.getDatabase(DB).getCollection("c" + c);
        if (c == 2) {
          sync.getDatabase(DB).createCollection("c2");
          continue;
        }
        List<Document> documents = new ArrayList<>();
        for (int id = c * 10_000; id < c * 10_000 + 2_000; id++) {
          documents.add(new Document("_id", id).append("version", 0));
          expected.put(id, 0);
        }
        collection.insertMany(documents);
      }
      ShardedCopyWorkers workers = ShardedCopyWorkers.init(nodes.get(0), "shop", client, copy -> copyHandler(nodes.get(0), 0, copy));
      PipelineControl control = Pipeline.named("shop")
          .mongoClient(client)
          .database(DB)
          .checkpoints(JdbcCheckpointStore.create(nodes.get(0)))
          .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
          .startup(StartupMode.SNAPSHOT_ONLY)
          .snapshotSettings(SnapshotSettings.defaults().withBatchSize(100).withParallelism(PARALLELISM).withChunkSize(500).withCopyWorkers(workers))
          .mapAsync(event -> CompletableFuture.completedFuture(event))
          .run(nodes.get(0));
      control.completion().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(viewNow()).as("the view of the database").isEqualTo(expected);
      assertThat(copies.values()).as("each document copied once").allMatch(count -> count.get() == 1);
      assertThat(copies).hasSize(expected.size());
    } finally {
      Clusters.stopAll(nodes);
    }
  }
}
