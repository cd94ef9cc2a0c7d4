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
import io.tidemark.checkpoint.StreamCheckpoints;
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
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * Snapshots end to end on the fault kit's embedded server: a copy under concurrent writes leaves
 * nothing missing; a copy killed halfway goes on after the last saved {@code _id}; and the
 * re-snapshot policy copies the collection again after its history was lost, with the gap recorded.
 */
class SnapshotIT {
  private static final String DB = "snap";
  private static final WindowSettings WINDOW = WindowSettings.of(200, 100, Duration.ofMillis(200));
  private static final int BATCH = 500;

  /** The materialized view the test's stage keeps (id → version), and how often each document was copied. */
  static final class View {
    final Map<Integer, Integer> versions = new ConcurrentHashMap<>();
    final Map<Integer, AtomicInteger> copies = new ConcurrentHashMap<>();
    final AtomicLong copied = new AtomicLong();

    ChangeEnvelope apply(ChangeEnvelope event) {
      if (event.documentKey() == null) return event;
      int id = event.documentKey().getInt32("_id").getValue();
      if (event.isSnapshot()) {
        copies.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
        copied.incrementAndGet();
      }
      Document full = event.fullDocument();
      if ("delete".equals(event.operationType())) versions.remove(id);
      else if (full != null) versions.put(id, full.getInteger("version"));
      return event;
    }
  }

  private static PipelineBuilder<ChangeEnvelope> pipeline(
      String stream, FaultyMongo mongo, CheckpointStore store, StartupMode startup, FaultSettings faults) {
    return Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .collection(DB, stream)
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(store)
        .windowSettings(WINDOW)
        .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(faults)
        .startup(startup)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(BATCH).withProgressInterval(Duration.ofSeconds(1)));
  }

  private static PipelineControl run(PipelineBuilder<ChangeEnvelope> builder, View view, ActorSystem<?> system) {
    return builder.mapAsync(event -> CompletableFuture.completedFuture(view.apply(event))).run(system);
  }

  private static FaultSettings quiet() {
    return FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10));
  }

  private static void insert(MongoCollection<Document> collection, int from, int to) {
    for (int low = from; low < to; low += 1000) {
      List<Document> batch = new ArrayList<>();
      for (int id = low; id < Math.min(to, low + 1000); id++) batch.add(new Document("_id", id).append("version", 0));
      collection.insertMany(batch);
    }
  }

  private static Map<Integer, Integer> source(MongoCollection<Document> collection) {
    Map<Integer, Integer> versions = new HashMap<>();
    for (Document document : collection.find()) versions.put(document.getInteger("_id"), document.getInteger("version"));
    return versions;
  }

  private static void awaitViewEqualsSource(View view, MongoCollection<Document> collection) {
    Await.until(Duration.ofSeconds(60), () -> view.versions.equals(source(collection)), () -> {
      Map<Integer, Integer> source = source(collection);
      long missing = source.keySet().stream().filter(id -> !view.versions.containsKey(id)).count();
      long stale = source.entrySet().stream().filter(e -> view.versions.containsKey(e.getKey())
          && !e.getValue().equals(view.versions.get(e.getKey()))).count();
      return "the view equal to the source: " + missing + " missing, " + stale + " stale of " + source.size();
    });
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void aSnapshotUnderConcurrentWritesMissesNothing() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-writes");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("writes");
      insert(orders, 0, 20_000);
      View view = new View();
      AtomicBoolean stop = new AtomicBoolean();
      AtomicLong writesDuringCopy = new AtomicLong();
      PipelineControl control =
          run(pipeline("writes", mongo, InMemoryCheckpointStore.create(), StartupMode.SNAPSHOT_THEN_STREAM, quiet()), view, system);
      var progress = control.stats().snapshot();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        Random random = new Random(8);
        int next = 20_000;
        int afterCopy = 0;
        while (!stop.get() && afterCopy < 300) {
          boolean copying = progress.running();
          orders.insertOne(new Document("_id", next++).append("version", 0));
          orders.updateOne(Filters.eq("_id", random.nextInt(next)), Updates.inc("version", 1));
          if (copying) writesDuringCopy.addAndGet(2);
          if (progress.at() != null && !progress.running()) afterCopy++;
          java.util.concurrent.locks.LockSupport.parkNanos(Duration.ofMillis(1).toNanos()); // pacing, not synchronisation
        }
      });
      try {
        writer.get(120, TimeUnit.SECONDS);
        awaitViewEqualsSource(view, orders);
      } finally {
        stop.set(true);
      }

      assertThat(writesDuringCopy.get()).as("writes made while the copy ran").isPositive();
      assertThat(view.copies.keySet()).as("every document that existed before the start was copied")
          .containsAll(java.util.stream.IntStream.range(0, 20_000).boxed().toList());
      assertThat(progress.overlapEvents()).as("changes made during the copy, counted as overlap").isPositive();
      assertThat(control.stats().startedFrom()).isInstanceOf(ResumePosition.Snapshot.class);
      await(control.drainAndStop());
      assertThat(view.versions).as("the view equals the source: nothing missing, nothing stale").isEqualTo(source(orders));
      System.out.printf("snapshot of 20,000 under writes: %d copied, %d writes during the copy, %d overlap events%n",
          view.copied.get(), writesDuringCopy.get(), progress.overlapEvents());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * The copy reads majority-committed data, causally after the snapshot's time (a member that lags
   * waits for it): every find of the copy carries readConcern {level: majority, afterClusterTime: T}
   * with T the time the stream then starts at.
   */
  @Test
  void theCopyReadsMajorityCommittedDataFromTheSnapshotsTimeOn() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-causal");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      insert(mongo.database(DB).getCollection("causal"), 0, 1_200);
      List<org.bson.BsonDocument> finds = new java.util.concurrent.CopyOnWriteArrayList<>();
      com.mongodb.event.CommandListener listener = new com.mongodb.event.CommandListener() {
        @Override
        public void commandStarted(com.mongodb.event.CommandStartedEvent event) {
          if (event.getCommandName().equals("find")) finds.add(event.getCommand().clone());
        }
      };
      try (com.mongodb.reactivestreams.client.MongoClient client = com.mongodb.reactivestreams.client.MongoClients.create(
          com.mongodb.MongoClientSettings.builder().applyConnectionString(new com.mongodb.ConnectionString(mongo.uri()))
              .addCommandListener(listener).build())) {
        View view = new View();
        PipelineControl control = Pipeline.named("causal").mongoClient(client).collection(DB, "causal")
            .checkpoints(InMemoryCheckpointStore.create()).windowSettings(WINDOW).faults(quiet())
            .startup(StartupMode.SNAPSHOT_THEN_STREAM)
            .snapshotSettings(SnapshotSettings.defaults().withBatchSize(BATCH).withProgressInterval(Duration.ofSeconds(1)))
            .mapAsync(event -> CompletableFuture.completedFuture(view.apply(event)))
            .run(system);
        Await.until(Duration.ofSeconds(30), () -> view.copied.get() == 1_200, () -> "1,200 copied, have " + view.copied.get());
        BsonTimestamp at = ((io.tidemark.source.ResumePosition.Snapshot) control.stats().started().toCompletableFuture()
            .get(10, TimeUnit.SECONDS)).at();
        control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);

        List<org.bson.BsonDocument> copy = finds.stream().filter(find -> find.getString("find").getValue().equals("causal")).toList();
        assertThat(copy).as("the copy's batches").hasSizeGreaterThanOrEqualTo(3).allSatisfy(find -> {
          assertThat(find.getDocument("readConcern").getString("level").getValue()).isEqualTo("majority");
          assertThat(find.getDocument("readConcern").getTimestamp("afterClusterTime").compareTo(at)).isGreaterThanOrEqualTo(0);
        });
      }
    } finally {
      system.terminate();
    }
  }

  @Test
  void aSnapshotKilledHalfwayGoesOnAfterTheLastSavedId() throws Exception {
    Config config = TestConfigs.h2Journal("snapshot_crash_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("crash");
      insert(orders, 0, 20_000);
      View view = new View();

      ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "snapshot-first", config);
      // A stage that takes a little time per document, so that the kill finds documents in flight and not yet checkpointed.
      java.util.concurrent.Executor slow = CompletableFuture.delayedExecutor(200, TimeUnit.MICROSECONDS);
      PipelineControl firstRun = pipeline("crash", mongo, JdbcCheckpointStore.create(first), StartupMode.SNAPSHOT_THEN_STREAM, quiet())
          .mapAsync(event -> CompletableFuture.supplyAsync(() -> view.apply(event), slow))
          .run(first);
      Await.until(Duration.ofSeconds(60), () -> view.copied.get() >= 8_000, () -> "8,000 documents copied before the crash");
      BsonTimestamp at = firstRun.stats().snapshot().at();
      first.terminate(); // abrupt: no drain, no last checkpoint
      first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      int highestBeforeCrash = view.copies.keySet().stream().mapToInt(Integer::intValue).max().orElseThrow();
      Map<Integer, Integer> copiesBeforeCrash = new HashMap<>();
      view.copies.forEach((id, n) -> copiesBeforeCrash.put(id, n.get()));

      ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "snapshot-second", config);
      try {
        JdbcCheckpointStore store = JdbcCheckpointStore.create(second);
        PipelineControl secondRun = run(pipeline("crash", mongo, store, StartupMode.SNAPSHOT_THEN_STREAM, quiet()), view, second);
        ResumePosition resumed = await(secondRun.stats().started());
        awaitViewEqualsSource(view, orders);
        // The copy's end is saved as itself before the stream goes on: wait for a checkpoint past the copy.
        Await.until(Duration.ofSeconds(30), () -> secondRun.stats().window().lastSaved() != null
            && secondRun.stats().window().lastSaved().kind() != CheckpointKind.SNAPSHOT, () -> "the copy's end saved");
        await(secondRun.drainAndStop());

        assertThat(resumed).as("the second run goes on with the snapshot").isInstanceOf(ResumePosition.Snapshot.class);
        ResumePosition.Snapshot snapshot = (ResumePosition.Snapshot) resumed;
        assertThat(snapshot.at()).as("with the operation time saved before the copy started").isEqualTo(at);
        assertThat(snapshot.after()).as("after the last saved _id, not from zero").isNotNull();
        long rescanned = view.copies.entrySet().stream()
            .filter(e -> e.getKey() <= highestBeforeCrash)
            .mapToLong(e -> e.getValue().get() - copiesBeforeCrash.getOrDefault(e.getKey(), 0))
            .sum();
        long readBySecondRun = secondRun.stats().snapshot().documents();
        assertThat(rescanned).as("documents copied again after the crash").isLessThanOrEqualTo(WINDOW.replayBound());
        assertThat(readBySecondRun).as("the second run read only what was left, plus the replay")
            .isLessThanOrEqualTo(20_000 - (highestBeforeCrash + 1) + WINDOW.replayBound() + BATCH);
        assertThat(view.copies.keySet()).hasSize(20_000);

        StreamCheckpoints record = await(store.open("crash"));
        List<Checkpoint> history = await(record.history());
        await(record.close());
        assertThat(history).filteredOn(c -> c.kind() == CheckpointKind.SNAPSHOT).isNotEmpty()
            .allMatch(c -> at.equals(c.clusterTime()), "every snapshot checkpoint holds the copy's start time");
        // The end of the copy, then (the last write before the copy's time, seen again: startAtOperationTime is inclusive) events.
        Checkpoint complete = history.stream().filter(c -> c.kind() == CheckpointKind.START).reduce((x, y) -> y).orElseThrow();
        assertThat(complete.note()).contains("snapshot complete");
        assertThat(complete.position()).isEqualTo(ResumePosition.startAtOperationTime(at));
        assertThat(history.subList(history.indexOf(complete), history.size()))
            .noneMatch(c -> c.kind() == CheckpointKind.SNAPSHOT);
        System.out.printf("snapshot killed after %d documents (highest _id %d); resumed %s; %d re-copied (bound %d), second run read %d%n",
            copiesBeforeCrash.size(), highestBeforeCrash, resumed.describe(), rescanned, WINDOW.replayBound(), readBySecondRun);
      } finally {
        second.terminate();
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  @Test
  void reSnapshotAfterHistoryLossRecordsTheGapAndCopiesAgain() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-lost");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(2_000))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("lost");
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      View view = new View();
      FaultSettings reSnapshot = quiet().onHistoryLost(FaultSettings.Restart.RE_SNAPSHOT);

      PipelineControl firstRun = run(pipeline("lost", mongo, store, StartupMode.STREAM_ONLY, reSnapshot), view, system);
      await(firstRun.stats().started());
      insert(orders, 0, 100);
      awaitViewEqualsSource(view, orders);
      await(firstRun.drainAndStop());
      Checkpoint stored = store.get("lost").orElseThrow();

      // While the stream is stopped: changes it will never see as events, then the oplog turns over them.
      insert(orders, 100, 300);
      orders.updateMany(Filters.lt("_id", 50), Updates.inc("version", 1));
      mongo.pushOutOfOplog(operationTime(mongo), DB, "lost-filler");
      assertThat(mongo.oldestOplogTime()).isGreaterThan(stored.clusterTime());

      PipelineControl secondRun = run(pipeline("lost", mongo, store, StartupMode.STREAM_ONLY, reSnapshot), view, system);
      await(secondRun.stats().started());
      Await.until(Duration.ofSeconds(30), () -> secondRun.stats().snapshot().at() != null && !secondRun.stats().snapshot().running(),
          () -> "the re-snapshot complete");
      insert(orders, 300, 320); // after the copy: they can only come from the stream
      awaitViewEqualsSource(view, orders);
      await(secondRun.drainAndStop());

      List<Checkpoint> gaps = store.history("lost").stream().filter(c -> c.kind() == CheckpointKind.GAP).toList();
      assertThat(gaps).as("one gap in the history").hasSize(1);
      assertThat(gaps.get(0).note()).contains("history lost").contains("re-snapshot");
      assertThat(secondRun.stats().gaps()).isEqualTo(1);
      assertThat(secondRun.stats().snapshot().documents()).as("the collection copied again").isGreaterThanOrEqualTo(300);
      assertThat(view.copies.keySet()).as("every document that existed at the re-snapshot was copied")
          .containsAll(java.util.stream.IntStream.range(0, 300).boxed().toList());
      List<Checkpoint> history = store.history("lost");
      assertThat(history.subList(history.indexOf(gaps.get(0)), history.size()))
          .extracting(Checkpoint::kind)
          .as("after the gap: the copy's progress, its end, then events")
          .contains(CheckpointKind.START, CheckpointKind.EVENT);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void reSnapshotWhileRunningRecordsTheGapAfterTheEventsBeforeIt() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-running");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("running");
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      View view = new View();
      PipelineControl control = run(
          pipeline("running", mongo, store, StartupMode.STREAM_ONLY, quiet().onHistoryLost(FaultSettings.Restart.RE_SNAPSHOT)), view, system);
      await(control.stats().started());
      insert(orders, 0, 50);
      awaitViewEqualsSource(view, orders);

      // The server says the cursor's position fell off the oplog (as a real mongod does after it turned over).
      mongo.failCommand(io.tidemark.testkit.FailCommand.on("getMore").errorCode(286).times(1));
      Await.until(Duration.ofSeconds(30), () -> control.stats().snapshot().at() != null && !control.stats().snapshot().running(),
          () -> "the re-snapshot complete");
      insert(orders, 50, 60);
      awaitViewEqualsSource(view, orders);
      await(control.drainAndStop());

      assertThat(view.copies.keySet()).as("the collection copied again").containsAll(java.util.stream.IntStream.range(0, 50).boxed().toList());
      assertThat(control.stats().gaps()).isEqualTo(1);
      List<Checkpoint> history = store.history("running");
      List<Checkpoint> gaps = history.stream().filter(c -> c.kind() == CheckpointKind.GAP).toList();
      assertThat(gaps).singleElement().satisfies(gap -> {
        assertThat(gap.note()).contains("history lost").contains("286").contains("re-snapshot");
        assertThat(gap.inSnapshot()).as("the gap itself says: copy again").isTrue();
      });
      int gapAt = history.indexOf(gaps.get(0));
      assertThat(history.subList(0, gapAt)).as("the events before the fault were checkpointed before the gap")
          .anyMatch(c -> c.kind() == CheckpointKind.EVENT);
      assertThat(history.subList(gapAt, history.size())).extracting(Checkpoint::kind)
          .as("after the gap: the copy's end, then events").containsSubsequence(CheckpointKind.GAP, CheckpointKind.START, CheckpointKind.EVENT);
      assertThat(history).extracting(Checkpoint::clusterTime).isSortedAccordingTo(BsonTimestamp::compareTo);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void snapshotOnlyCopiesThenStopsAndDoesNotCopyAgain() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-only");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> orders = mongo.database(DB).getCollection("only");
      insert(orders, 0, 1_200);
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      View view = new View();
      PipelineControl control = run(pipeline("only", mongo, store, StartupMode.SNAPSHOT_ONLY, quiet()), view, system);
      await(control.completion());
      assertThat(view.versions).isEqualTo(source(orders));
      assertThat(view.copies.values()).allMatch(n -> n.get() == 1);
      Checkpoint last = store.get("only").orElseThrow();
      assertThat(last.kind()).isEqualTo(CheckpointKind.START);
      assertThat(last.note()).contains("snapshot complete: 1200 documents").contains("snapshot-only");

      insert(orders, 1_200, 1_210);
      PipelineControl again = run(pipeline("only", mongo, store, StartupMode.SNAPSHOT_ONLY, quiet()), view, system);
      await(again.completion());
      assertThat(again.stats().snapshot().documents()).as("a complete snapshot is not copied again").isZero();
      assertThat(view.copied.get()).isEqualTo(1_200);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** A view of several collections: "collection/_id" to version, and how often each was copied. */
  static final class ManyView {
    final Map<String, Integer> versions = new ConcurrentHashMap<>();
    final Map<String, AtomicInteger> copies = new ConcurrentHashMap<>();
    final AtomicLong copied = new AtomicLong();

    ChangeEnvelope apply(ChangeEnvelope event) {
      if (event.documentKey() == null) return event;
      String key = event.namespace().substring(event.namespace().indexOf('.') + 1) + "/" + event.documentKey().getInt32("_id").getValue();
      if (event.isSnapshot()) {
        copies.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet();
        copied.incrementAndGet();
      }
      Document full = event.fullDocument();
      if ("delete".equals(event.operationType())) versions.remove(key);
      else if (full != null) versions.put(key, full.getInteger("version"));
      return event;
    }

    long copiesOf(String collection) {
      return copies.entrySet().stream().filter(e -> e.getKey().startsWith(collection + "/")).mapToLong(e -> e.getValue().get()).sum();
    }
  }

  private static Map<String, Integer> sources(FaultyMongo mongo, String database, List<String> collections) {
    Map<String, Integer> versions = new HashMap<>();
    for (String collection : collections) {
      source(mongo.database(database).getCollection(collection)).forEach((id, version) -> versions.put(collection + "/" + id, version));
    }
    return versions;
  }

  private static PipelineBuilder<ChangeEnvelope> databasePipeline(String stream, String database, FaultyMongo mongo, CheckpointStore store) {
    return Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .database(database)
        .namespaces(namespace -> !namespace.endsWith(".skipped"))
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(store)
        .windowSettings(WINDOW)
        .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(quiet())
        .startup(StartupMode.SNAPSHOT_THEN_STREAM)
        .snapshotSettings(SnapshotSettings.defaults().withBatchSize(BATCH).withProgressInterval(Duration.ofSeconds(1)));
  }

  /**
   * A database target copies its collections that the namespace filter keeps, one after another,
   * while a writer changes all of them; then streams: the view equals the kept collections, and the
   * left-out collection is neither copied nor streamed.
   */
  @Test
  void aSnapshotOfADatabaseCopiesTheKeptCollectionsThenStreams() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-database");
    List<String> kept = List.of("accounts", "orders", "payments");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      for (String collection : kept) insert(mongo.database("many").getCollection(collection), 0, 3_000);
      insert(mongo.database("many").getCollection("skipped"), 0, 500);
      ManyView view = new ManyView();
      PipelineControl control = databasePipeline("many", "many", mongo, InMemoryCheckpointStore.create())
          .mapAsync(event -> CompletableFuture.completedFuture(view.apply(event)))
          .run(system);
      var progress = control.stats().snapshot();
      AtomicLong writesDuringCopy = new AtomicLong();
      CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
        Random random = new Random(16);
        int afterCopy = 0;
        for (int next = 3_000; afterCopy < 100; next++) {
          boolean copying = progress.running();
          for (String collection : List.of("accounts", "orders", "payments", "skipped")) {
            MongoCollection<Document> target = mongo.database("many").getCollection(collection);
            target.insertOne(new Document("_id", next).append("version", 0));
            target.updateOne(Filters.eq("_id", random.nextInt(next)), Updates.inc("version", 1));
          }
          if (copying) writesDuringCopy.addAndGet(8);
          if (progress.at() != null && !progress.running()) afterCopy++;
        }
      });
      writer.get(120, TimeUnit.SECONDS);
      Await.until(Duration.ofSeconds(60), () -> view.versions.equals(sources(mongo, "many", kept)),
          () -> "the view equal to the three kept collections: " + view.versions.size() + " of " + sources(mongo, "many", kept).size());
      await(control.drainAndStop());

      assertThat(writesDuringCopy.get()).as("writes made while the copy ran").isPositive();
      for (String collection : kept) {
        assertThat(view.copiesOf(collection)).as("documents of %s copied", collection).isGreaterThanOrEqualTo(3_000);
      }
      assertThat(view.copiesOf("skipped")).as("the left-out collection is not copied").isZero();
      assertThat(view.versions.keySet()).as("nor streamed").noneMatch(key -> key.startsWith("skipped/"));
      assertThat(progress.copied()).as("documents the copy counted").isEqualTo(view.copied.get());
      System.out.printf("snapshot of a database (3 of 4 collections, 9,000 documents) under writes: %d copied, %d writes during the copy%n",
          view.copied.get(), writesDuringCopy.get());
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A database's copy killed in its second collection goes on in that collection after the last
   * saved {@code _id}: the first collection is not copied again, and what is re-copied stays within
   * the window and the checkpoint interval.
   */
  @Test
  void aSnapshotOfADatabaseKilledInItsSecondCollectionGoesOnThere() throws Exception {
    Config config = TestConfigs.h2Journal("snapshot_many_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
    List<String> collections = List.of("accounts", "orders", "payments");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      for (String collection : collections) insert(mongo.database("killed").getCollection(collection), 0, 6_000);
      ManyView view = new ManyView();
      ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "snapshot-many-first", config);
      java.util.concurrent.Executor slow = CompletableFuture.delayedExecutor(200, TimeUnit.MICROSECONDS);
      PipelineControl firstRun = databasePipeline("killed", "killed", mongo, JdbcCheckpointStore.create(first))
          .mapAsync(event -> CompletableFuture.supplyAsync(() -> view.apply(event), slow))
          .run(first);
      Await.until(Duration.ofSeconds(60), () -> view.copiesOf("orders") >= 2_000, () -> "2,000 documents of the second collection copied");
      first.terminate(); // abrupt: no drain, no last checkpoint
      first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      Map<String, Integer> copiesBeforeCrash = new HashMap<>();
      view.copies.forEach((key, n) -> copiesBeforeCrash.put(key, n.get()));
      long accountsBefore = view.copiesOf("accounts");

      ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "snapshot-many-second", config);
      try {
        PipelineControl secondRun = databasePipeline("killed", "killed", mongo, JdbcCheckpointStore.create(second))
            .mapAsync(event -> CompletableFuture.completedFuture(view.apply(event)))
            .run(second);
        ResumePosition resumed = await(secondRun.stats().started());
        Await.until(Duration.ofSeconds(60), () -> view.versions.equals(sources(mongo, "killed", collections)),
            () -> "the view equal to the source: " + view.versions.size() + " of 18000");
        await(secondRun.drainAndStop());

        assertThat(resumed).isInstanceOf(ResumePosition.Snapshot.class);
        ResumePosition.Snapshot snapshot = (ResumePosition.Snapshot) resumed;
        assertThat(snapshot.namespace()).as("the second run goes on in the second collection").isEqualTo("killed.orders");
        assertThat(snapshot.after()).as("after its last saved _id").isNotNull();
        assertThat(view.copiesOf("accounts")).as("the first collection, done, is not copied again").isEqualTo(accountsBefore);
        long recopied = view.copies.entrySet().stream()
            .mapToLong(e -> e.getValue().get() - copiesBeforeCrash.getOrDefault(e.getKey(), 0))
            .filter(n -> n > 0)
            .sum() - view.copies.keySet().stream().filter(key -> !copiesBeforeCrash.containsKey(key)).count();
        assertThat(recopied).as("documents copied again after the crash").isLessThanOrEqualTo(WINDOW.replayBound());
        assertThat(view.copies).hasSize(18_000);
        System.out.printf("database snapshot killed in its second collection; resumed %s; %d re-copied (bound %d)%n",
            resumed.describe(), recopied, WINDOW.replayBound());
      } finally {
        second.terminate();
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static BsonTimestamp operationTime(FaultyMongo mongo) {
    return mongo.database(DB).runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);
  }
}
