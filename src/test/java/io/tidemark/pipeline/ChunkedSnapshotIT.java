package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocument;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * A collection copied in chunks, C = 4 at a time (issue 16), on the fault kit's embedded server:
 * under inserts, updates and deletes the view ends equal to the collection; killed twice mid-copy,
 * each run goes on in every chunk after its saved {@code _id}, with the chunks the copy began with,
 * and re-copies at most N + K documents per kill.
 */
class ChunkedSnapshotIT {
  private static final String DB = "chunked";
  private static final WindowSettings WINDOW = WindowSettings.of(200, 100, Duration.ofMillis(200));
  private static final int BATCH = 500;
  private static final int PARALLELISM = 4;

  /**
   * One run's view of the shared materialized view: the versions (id → version) are the view's, the
   * copies this run's, so that a stage still finishing for a killed run counts for that run.
   */
  static final class RunView {
    final Map<Integer, Integer> versions;
    final Map<Integer, AtomicInteger> copies = new ConcurrentHashMap<>();
    final AtomicLong copied = new AtomicLong();

    RunView(Map<Integer, Integer> versions) {
      this.versions = versions;
    }

    ChangeEnvelope apply(ChangeEnvelope event) {
      if (event.documentKey() == null) return event;
      int id = event.documentKey().getInt32("_id").getValue();
      if (event.isSnapshot()) {
        copies.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        copied.incrementAndGet();
      }
      Document full = event.fullDocument();
      synchronized (versions) {
        if ("delete".equals(event.operationType())) versions.remove(id);
        else if (full != null) versions.put(id, full.getInteger("version"));
      }
      return event;
    }
  }

  private static PipelineBuilder<ChangeEnvelope> pipeline(String stream, FaultyMongo mongo, CheckpointStore store, long chunkSize) {
    return Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .collection(DB, stream)
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(store)
        .windowSettings(WINDOW)
        .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
        .startup(StartupMode.SNAPSHOT_THEN_STREAM)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(BATCH).withProgressInterval(Duration.ofSeconds(2))
            .withParallelism(PARALLELISM).withChunkSize(chunkSize));
  }

  /**
   * Inserts documents {@code from} to {@code to} (exclusive), unordered batches of 1,000 (the
   * server's maxWriteBatchSize: larger ones are split by the driver, and were slower) from two
   * threads, so that one batch is encoded and sent while the server stores the other; returns the
   * milliseconds it took. (The embedded server stores one batch at a time; most of the time is its
   * own, per document.)
   */
  private static long insert(MongoCollection<Document> collection, int from, int to) {
    long start = System.nanoTime();
    java.util.concurrent.ExecutorService inserters = java.util.concurrent.Executors.newFixedThreadPool(2);
    try {
      List<java.util.concurrent.Future<?>> batches = new ArrayList<>();
      for (int low = from; low < to; low += 1000) {
        int first = low;
        batches.add(inserters.submit(() -> {
          List<Document> batch = new ArrayList<>(1000);
          for (int id = first; id < Math.min(to, first + 1000); id++) batch.add(new Document("_id", id).append("version", 0));
          collection.insertMany(batch, new com.mongodb.client.model.InsertManyOptions().ordered(false));
        }));
      }
      for (java.util.concurrent.Future<?> batch : batches) batch.get(5, TimeUnit.MINUTES);
    } catch (Exception e) {
      throw new IllegalStateException("inserting documents " + from + " to " + to, e);
    } finally {
      inserters.shutdownNow();
    }
    return (System.nanoTime() - start) / 1_000_000;
  }

  private static Map<Integer, Integer> source(MongoCollection<Document> collection) {
    Map<Integer, Integer> versions = new HashMap<>();
    for (Document document : collection.find()) versions.put(document.getInteger("_id"), document.getInteger("version"));
    return versions;
  }

  private static Map<Integer, Integer> copyOf(Map<Integer, Integer> versions) {
    synchronized (versions) {
      return new HashMap<>(versions);
    }
  }

  /**
   * Waits for the view to equal the collection; returns the collection's documents as last read. (A
   * whole read of the collection is the costly part at 500,000 documents: it is made only once the
   * view holds as many documents as the collection's count says.)
   */
  private static Map<Integer, Integer> awaitViewEqualsSource(Map<Integer, Integer> view, MongoCollection<Document> collection) {
    AtomicReference<Map<Integer, Integer>> read = new AtomicReference<>();
    Await.until(Duration.ofSeconds(90), () -> {
      synchronized (view) {
        if (view.size() != collection.estimatedDocumentCount()) return false;
      }
      read.set(source(collection));
      return copyOf(view).equals(read.get());
    }, () -> {
      Map<Integer, Integer> source = source(collection);
      Map<Integer, Integer> seen = copyOf(view);
      long missing = source.keySet().stream().filter(id -> !seen.containsKey(id)).count();
      long extra = seen.keySet().stream().filter(id -> !source.containsKey(id)).count();
      long stale = source.entrySet().stream().filter(e -> seen.containsKey(e.getKey()) && !e.getValue().equals(seen.get(e.getKey()))).count();
      return "the view equal to the source: " + missing + " missing, " + extra + " extra, " + stale + " stale of " + source.size();
    });
    return read.get();
  }

  /** Inserts after the copied range, updates and deletes anywhere, until stopped; counts what it did. */
  private static CompletableFuture<Void> writer(MongoCollection<Document> collection, int firstNew, AtomicBoolean stop, AtomicLong writes, long seed) {
    return CompletableFuture.runAsync(() -> {
      Random random = new Random(seed);
      int next = firstNew;
      while (!stop.get()) {
        collection.insertOne(new Document("_id", next++).append("version", 0));
        collection.updateOne(Filters.eq("_id", random.nextInt(next)), Updates.inc("version", 1));
        collection.deleteOne(Filters.eq("_id", random.nextInt(next)));
        writes.addAndGet(3);
        java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(2).toNanos()); // pacing, not synchronisation
      }
    });
  }

  /** The most chunks begun and not done at once in any saved snapshot checkpoint: above 1, the chunks were copied in parallel. */
  private static long mostChunksInFlight(List<Checkpoint> history) {
    return history.stream().filter(c -> c.kind() == CheckpointKind.SNAPSHOT && c.snapshot().isArray("chunks"))
        .mapToLong(c -> c.snapshot().getArray("chunks").stream()
            .filter(chunk -> chunk.asDocument().containsKey("_id") && !chunk.asDocument().containsKey("done")).count())
        .max().orElse(0);
  }

  /**
   * The 500,000 documents in 20 chunks, 4 copied at a time, while a writer inserts, updates
   * and deletes: the view ends equal to the collection; every document that existed before the copy
   * and was not deleted was copied; the checkpoints show the chunks, several in progress at once.
   * Fewer for a quick run: {@code -Dchunked.documents=200000}.
   */
  @Test
  void aChunkedCopyUnderInsertsUpdatesAndDeletesMissesNothing() throws Exception {
    int documents = Integer.getInteger("chunked.documents", 500_000);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "chunked-writes");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("writes");
      long insertMillis = insert(orders, 0, documents);
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create(100_000);
      Map<Integer, Integer> versions = new HashMap<>();
      RunView view = new RunView(versions);
      PipelineControl control = pipeline("writes", mongo, store, documents / 20)
          .mapAsync(event -> CompletableFuture.completedFuture(view.apply(event)))
          .run(system);
      var progress = control.stats().snapshot();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      long started = System.nanoTime();
      CompletableFuture<Void> writer = writer(orders, documents, stop, writes, 16);
      long writesDuringCopy;
      try {
        Await.until(Duration.ofSeconds(240), () -> progress.at() != null && !progress.running(), () -> "the copy complete: " + progress.describe());
        writesDuringCopy = writes.get();
        long afterCopy = writes.get();
        Await.until(Duration.ofSeconds(30), () -> writes.get() >= afterCopy + 300, () -> "300 writes after the copy");
      } finally {
        stop.set(true);
      }
      writer.get(30, TimeUnit.SECONDS);
      double copySeconds = (System.nanoTime() - started) / 1e9;
      Map<Integer, Integer> source = awaitViewEqualsSource(versions, orders);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

      List<Checkpoint> history = store.history("writes");
      Checkpoint chunked = history.stream().filter(c -> c.kind() == CheckpointKind.SNAPSHOT && c.snapshot().isArray("chunks")).findFirst()
          .orElseThrow(() -> new AssertionError("no chunked snapshot checkpoint in " + history.size()));
      assertThat(chunked.snapshot().getArray("chunks")).as("chunks of the copy").hasSizeGreaterThanOrEqualTo(16);
      assertThat(mostChunksInFlight(history)).as("chunks in progress at once").isGreaterThan(1).isLessThanOrEqualTo(PARALLELISM);
      assertThat(writesDuringCopy).as("writes made while the copy ran").isPositive();
      List<Integer> notCopied = source.keySet().stream().filter(id -> id < documents && !view.copies.containsKey(id)).toList();
      assertThat(notCopied).as("documents that existed before the copy, are still there, and were not copied").isEmpty();
      assertThat(view.copies.values()).as("each copied once").allMatch(n -> n.get() == 1);
      System.out.printf("chunked snapshot of %,d documents (inserted in %d ms) in %d chunks, %d at a time, under %d writes during the copy"
              + " (inserts, updates, deletes): %d copied in %.1f s, %d overlap events%n",
          documents, insertMillis, chunked.snapshot().getArray("chunks").size(), PARALLELISM, writesDuringCopy, view.copied.get(), copySeconds,
          progress.overlapEvents());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * Killed twice mid-copy (the actor system terminated: no drain, no last checkpoint) while a writer
   * inserts, updates and deletes: each next run goes on with the same chunks, in each after its
   * saved {@code _id}; each kill re-copies at most N + K documents; the view ends equal to the
   * collection.
   */
  @Test
  void aChunkedCopyKilledTwiceGoesOnInEachChunk() throws Exception {
    int documents = 40_000;
    Config config = TestConfigs.h2Journal("chunked_crash_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("crash");
      insert(orders, 0, documents);
      Map<Integer, Integer> versions = new HashMap<>();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      CompletableFuture<Void> writer = writer(orders, documents, stop, writes, 32);
      List<RunView> runs = new ArrayList<>();
      List<ResumePosition> startedFrom = new ArrayList<>();
      List<Long> recopied = new ArrayList<>();
      try {
        for (int run = 0; run < 3; run++) {
          ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "chunked-crash-" + run, config);
          RunView view = new RunView(versions);
          runs.add(view);
          boolean killed = run < 2;
          // Killed runs: a stage that takes a little time per document, so that the kill finds documents in flight and not yet checkpointed.
          java.util.concurrent.Executor slow = CompletableFuture.delayedExecutor(200, TimeUnit.MICROSECONDS);
          try {
            PipelineControl control = pipeline("crash", mongo, JdbcCheckpointStore.create(system), documents / 20)
                .mapAsync(event -> killed ? CompletableFuture.supplyAsync(() -> view.apply(event), slow)
                    : CompletableFuture.completedFuture(view.apply(event)))
                .run(system);
            startedFrom.add(control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS));
            if (killed) {
              Await.until(Duration.ofSeconds(60), () -> view.copied.get() >= 8_000, () -> "8,000 documents copied by run " + startedFrom.size());
            } else {
              Await.until(Duration.ofSeconds(90), () -> control.stats().snapshot().at() != null && !control.stats().snapshot().running(),
                  () -> "the copy complete");
              stop.set(true);
              writer.get(30, TimeUnit.SECONDS);
              awaitViewEqualsSource(versions, orders);
              control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
            }
          } finally {
            system.terminate(); // for a killed run: abrupt, no drain, no last checkpoint
            system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
          }
          if (run > 0) {
            long again = view.copies.keySet().stream().filter(id -> runs.subList(0, runs.size() - 1).stream()
                .anyMatch(before -> before.copies.containsKey(id))).count();
            recopied.add(again);
          }
        }
      } finally {
        stop.set(true);
      }

      ResumePosition.Snapshot second = (ResumePosition.Snapshot) startedFrom.get(1);
      ResumePosition.Snapshot third = (ResumePosition.Snapshot) startedFrom.get(2);
      assertThat(second.chunks()).as("the second run goes on with the first run's chunks").hasSizeGreaterThanOrEqualTo(16);
      assertThat(second.chunks()).as("some begun").anyMatch(chunk -> chunk.after() != null);
      assertThat(third.chunks()).as("the third run with the same chunks").extracting(ResumePosition.Chunk::min)
          .containsExactlyElementsOf(second.chunks().stream().map(ResumePosition.Chunk::min).toList());
      assertThat(third.chunks().stream().filter(chunk -> chunk.done() || chunk.after() != null).count())
          .as("the third run's position is further on").isGreaterThanOrEqualTo(second.chunks().stream().filter(c -> c.done() || c.after() != null).count());
      assertThat(recopied).as("documents copied again after each kill (bound N + K = %d)", WINDOW.replayBound())
          .hasSize(2).allMatch(n -> n <= WINDOW.replayBound());
      List<Integer> notCopied = source(orders).keySet().stream()
          .filter(id -> id < documents && runs.stream().noneMatch(view -> view.copies.containsKey(id))).toList();
      assertThat(notCopied).as("documents that existed before the copy, are still there, and no run copied").isEmpty();
      System.out.printf("chunked snapshot of %,d documents killed twice under %d writes: run 2 from %s, run 3 from %s; re-copied %s (bound %d)%n",
          documents, writes.get(), second.describe(), third.describe(), recopied, WINDOW.replayBound());
    }
  }

  /**
   * String {@code _id}s cannot be split by value: the boundaries come from a {@code $sample}. 20,000
   * documents in 16+ chunks, snapshot-only: each copied once, the copy in chunks.
   */
  @Test
  void stringIdsAreSplitBySampleAndEachDocumentIsCopiedOnce() throws Exception {
    int documents = 20_000;
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "chunked-strings");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("strings");
      for (int low = 0; low < documents; low += 1000) {
        List<Document> batch = new ArrayList<>();
        for (int id = low; id < low + 1000; id++) batch.add(new Document("_id", "k" + Integer.toHexString(id * 7919)).append("n", id));
        orders.insertMany(batch);
      }
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create(100_000);
      Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
      PipelineControl control = pipeline("strings", mongo, store, documents / 20).startup(StartupMode.SNAPSHOT_ONLY)
          .map(event -> {
            copies.computeIfAbsent(event.documentKey().getString("_id").getValue(), k -> new AtomicInteger()).incrementAndGet();
            return event;
          })
          .run(system);
      control.completion().toCompletableFuture().get(90, TimeUnit.SECONDS);

      assertThat(copies).as("every document copied").hasSize(documents);
      assertThat(copies.values()).as("each once").allMatch(n -> n.get() == 1);
      List<Checkpoint> history = store.history("strings");
      Checkpoint chunked = history.stream().filter(c -> c.kind() == CheckpointKind.SNAPSHOT && c.snapshot().isArray("chunks")).findFirst()
          .orElseThrow(() -> new AssertionError("no chunked snapshot checkpoint in " + history.size()));
      assertThat(chunked.snapshot().getArray("chunks")).as("chunks, split by $sample").hasSizeGreaterThanOrEqualTo(16)
          .allMatch(chunk -> !chunk.asDocument().containsKey("min") || chunk.asDocument().isString("min"));
      assertThat(mostChunksInFlight(history)).as("chunks in progress at once").isGreaterThan(1);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A database of 4 collections (8,000, 8,000, 8,000 and 1 documents), C = 4 chunks at a time across
   * them, under a writer that inserts, updates and deletes in every one, killed once mid-copy (no
   * drain): the second run goes on from the saved position of several collections, the view ends equal
   * to the source, every document that existed before the copy and still exists was copied, and at
   * most N + K were copied again.
   */
  @Test
  void aDatabaseOfFourCollectionsCopiedFourChunksAtATimeKilledOnceMissesNothing() throws Exception {
    Config config = TestConfigs.h2Journal("chunked_many_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
    String database = "chunkedmany";
    Map<String, Integer> sizes = Map.of("accounts", 8_000, "orders", 8_000, "payments", 8_000, "single", 1);
    List<String> collections = List.of("accounts", "orders", "payments", "single");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      for (String collection : collections) insert(mongo.database(database).getCollection(collection), 0, sizes.get(collection));
      Map<String, Integer> before = sources(mongo, database, collections);
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writes = new AtomicLong();
      List<CompletableFuture<Void>> writers = new ArrayList<>();
      for (int i = 0; i < collections.size(); i++) {
        String collection = collections.get(i);
        writers.add(writer(mongo.database(database).getCollection(collection), Math.max(sizes.get(collection), 100_000), stop, writes, 40 + i));
      }
      SnapshotIT.ManyView view = new SnapshotIT.ManyView();
      ResumePosition resumed;
      Map<String, Integer> copiesBeforeCrash = new HashMap<>();
      AtomicLong mostBegun = new AtomicLong(); // collections begun and not done in a copied document's position
      java.util.function.Function<ChangeEnvelope, ChangeEnvelope> apply = event -> {
        if (event.isSnapshot() && event.snapshotProgress().isArray("collections")) {
          mostBegun.accumulateAndGet(event.snapshotProgress().getArray("collections").size(), Math::max);
        }
        return view.apply(event);
      };
      try {
        ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "chunked-many-first", config);
        java.util.concurrent.Executor slow = CompletableFuture.delayedExecutor(200, TimeUnit.MICROSECONDS);
        try {
          databasePipeline(database, mongo, JdbcCheckpointStore.create(first))
              .mapAsync(event -> CompletableFuture.supplyAsync(() -> apply.apply(event), slow))
              .run(first);
          Await.until(Duration.ofSeconds(60), () -> view.copied.get() >= 10_000, () -> "10,000 documents copied: " + view.copied.get());
        } finally {
          first.terminate(); // abrupt: no drain, no last checkpoint
          first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
        view.copies.forEach((key, n) -> copiesBeforeCrash.put(key, n.get()));

        ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "chunked-many-second", config);
        try {
          CheckpointStore store = JdbcCheckpointStore.create(second);
          PipelineControl control = databasePipeline(database, mongo, store)
              .mapAsync(event -> CompletableFuture.completedFuture(apply.apply(event)))
              .run(second);
          resumed = control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
          Await.until(Duration.ofSeconds(90), () -> control.stats().snapshot().at() != null && !control.stats().snapshot().running(),
              () -> "the copy complete");
          stop.set(true);
          for (CompletableFuture<Void> writer : writers) writer.get(30, TimeUnit.SECONDS);
          Await.until(Duration.ofSeconds(90), () -> new HashMap<>(view.versions).equals(sources(mongo, database, collections)),
              () -> "the view equal to the source: " + view.versions.size() + " of " + sources(mongo, database, collections).size());
          control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } finally {
          second.terminate();
          second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
      } finally {
        stop.set(true);
      }

      assertThat(resumed).isInstanceOf(ResumePosition.Snapshot.class);
      ResumePosition.Snapshot snapshot = (ResumePosition.Snapshot) resumed;
      assertThat(snapshot.collections()).as("the second run goes on from the position of several collections").isNotNull().isNotEmpty();
      assertThat(mostBegun.get()).as("collections in progress at once in a copied document's position").isGreaterThan(1);
      Map<String, Integer> now = sources(mongo, database, collections);
      List<String> notCopied = before.keySet().stream().filter(key -> now.containsKey(key) && !view.copies.containsKey(key)).toList();
      assertThat(notCopied).as("documents that existed before the copy, are still there, and were not copied").isEmpty();
      long recopied = view.copies.entrySet().stream().filter(e -> copiesBeforeCrash.containsKey(e.getKey()))
          .mapToLong(e -> e.getValue().get() - copiesBeforeCrash.get(e.getKey())).sum();
      assertThat(recopied).as("documents copied again after the kill (bound N + K = %d)", WINDOW.replayBound()).isLessThanOrEqualTo(WINDOW.replayBound());
      System.out.printf("database of 4 collections, C = %d across them, killed once under %d writes: resumed %s; %d copied, %d re-copied (bound %d);"
              + " up to %d collections in progress at once%n",
          PARALLELISM, writes.get(), snapshot.describe(), view.copied.get(), recopied, WINDOW.replayBound(), mostBegun.get());
    }
  }

  private static PipelineBuilder<ChangeEnvelope> databasePipeline(String database, FaultyMongo mongo, CheckpointStore store) {
    return Pipeline.named(database)
        .mongoUri(mongo.uri())
        .database(database)
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(store)
        .windowSettings(WINDOW)
        .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
        .startup(StartupMode.SNAPSHOT_THEN_STREAM)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(BATCH).withProgressInterval(Duration.ofSeconds(2))
            .withParallelism(PARALLELISM).withChunkSize(2_000));
  }

  private static Map<String, Integer> sources(FaultyMongo mongo, String database, List<String> collections) {
    Map<String, Integer> versions = new HashMap<>();
    for (String collection : collections) {
      source(mongo.database(database).getCollection(collection)).forEach((id, version) -> versions.put(collection + "/" + id, version));
    }
    return versions;
  }
}
