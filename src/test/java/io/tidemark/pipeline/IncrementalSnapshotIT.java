package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.MongoNamespace;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.IncrementalSnapshotSettings;
import io.tidemark.source.SignalCollection;
import io.tidemark.source.SourceSettings;
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
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * Incremental snapshots on demand while the stream runs, on the fault kit's embedded server: a
 * request made while about 100 writes a second stream in copies the collection in chunks; the
 * target, checked on every write, never sees a key go back to an older version, and ends with every
 * document at its newest version; the stream's events keep flowing during the copy; and a crash in
 * the middle of a request goes on after the last chunk done.
 */
class IncrementalSnapshotIT {
  private static final String DB = "incremental";
  private static final WindowSettings WINDOW = WindowSettings.of(200, 100, Duration.ofMillis(200));
  private static final int DOCUMENTS = 5_000;
  /** Deleted documents stand at this version: nothing may come for them after the delete. */
  private static final int DELETED = Integer.MAX_VALUE;

  /** The target: each key's version, checked on every write. */
  static final class Target {
    final Map<Integer, Integer> versions = new ConcurrentHashMap<>();
    final List<String> regressions = new CopyOnWriteArrayList<>();
    final AtomicLong rows = new AtomicLong();
    /** The keys copied (as rows), for what a stopped request did not copy. */
    final java.util.Set<Integer> copiedIds = ConcurrentHashMap.newKeySet();
    final AtomicLong events = new AtomicLong();
    /** When each (key, version) was written, for the stream's lag; the newest delay seen. */
    final Map<Long, Long> writtenAt = new ConcurrentHashMap<>();
    final AtomicLong maxLagNanos = new AtomicLong();
    volatile boolean measuringLag;

    ChangeEnvelope apply(ChangeEnvelope event) {
      if (event.documentKey() == null) return event;
      int id = event.documentKey().getInt32("_id").getValue();
      int version;
      if (event.isSnapshot()) {
        rows.incrementAndGet();
        copiedIds.add(id);
        version = event.fullDocument().getInteger("v");
      } else {
        events.incrementAndGet();
        switch (event.operationType()) {
          case "insert", "replace" -> version = event.fullDocument().getInteger("v");
          case "update" -> version = event.event().getUpdateDescription().getUpdatedFields().getInt32("v").getValue();
          case "delete" -> version = DELETED;
          default -> { return event; }
        }
        Long written = writtenAt.remove(((long) id << 32) | (version & 0xffffffffL));
        if (written != null && measuringLag) maxLagNanos.accumulateAndGet(System.nanoTime() - written, Math::max);
      }
      Integer before = versions.get(id);
      if (before != null && version < before) {
        regressions.add(event + " took _id " + id + " from version " + before + " back to " + version);
      }
      versions.put(id, version);
      return event;
    }
  }

  /**
   * About 100 writes a second: updates of existing documents (v + 1), inserts of new ones, now and
   * then a delete; most updates go to the documents just after {@code hot} (the chunk being read),
   * so that events fall inside the chunks' watermark windows.
   */
  static final class Writer implements AutoCloseable {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final Random random = new Random(16);
    private final AtomicInteger nextId = new AtomicInteger(DOCUMENTS);
    private final Map<Integer, Integer> live = new HashMap<>();
    final AtomicLong writes = new AtomicLong();

    Writer(MongoCollection<Document> collection, Target target, java.util.function.IntSupplier hot) {
      for (int id = 0; id < DOCUMENTS; id++) live.put(id, 1);
      List<Integer> ids = new ArrayList<>(live.keySet());
      scheduler.scheduleAtFixedRate(() -> {
        int choice = random.nextInt(20);
        if (choice == 0) {
          int id = nextId.getAndIncrement();
          collection.insertOne(new Document("_id", id).append("v", 1));
          live.put(id, 1);
          ids.add(id);
          target.writtenAt.put(((long) id << 32) | 1, System.nanoTime());
        } else {
          int id = random.nextBoolean() ? Math.min(DOCUMENTS - 1, hot.getAsInt() + random.nextInt(300)) : ids.get(random.nextInt(ids.size()));
          Integer v = live.get(id);
          if (v == null) return;
          if (choice == 1) {
            collection.deleteOne(Filters.eq("_id", id));
            live.remove(id);
            target.writtenAt.put(((long) id << 32) | (DELETED & 0xffffffffL), System.nanoTime());
          } else {
            collection.updateOne(Filters.eq("_id", id), Updates.inc("v", 1));
            live.put(id, v + 1);
            target.writtenAt.put(((long) id << 32) | (v + 1), System.nanoTime());
          }
        }
        writes.incrementAndGet();
      }, 0, 10, TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
      scheduler.shutdown();
      try {
        assertThat(scheduler.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException(e);
      }
    }
  }

  private static PipelineControl start(String stream, FaultyMongo mongo, InMemoryCheckpointStore store, int chunkSize, Target target,
      java.util.concurrent.Executor stage, ActorSystem<?> system) {
    return Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .collection(DB, "items")
        .checkpoints(store)
        .windowSettings(WINDOW)
        .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(FaultSettings.defaults().heartbeat(true, Duration.ofMillis(500)))
        .incrementalSnapshots(IncrementalSnapshotSettings.defaults().withSignalCollection("signals").withChunkSize(chunkSize)
            .withPollInterval(Duration.ofMillis(50)))
        .mapAsync(event -> CompletableFuture.supplyAsync(() -> target.apply(event), stage))
        .run(system);
  }

  private static void insert(MongoCollection<Document> collection) {
    for (int low = 0; low < DOCUMENTS; low += 1000) {
      List<Document> batch = new ArrayList<>();
      for (int id = low; id < low + 1000; id++) batch.add(new Document("_id", id).append("v", 1));
      collection.insertMany(batch);
    }
  }

  private static Map<Integer, Integer> source(MongoCollection<Document> collection) {
    Map<Integer, Integer> versions = new HashMap<>();
    for (Document document : collection.find()) versions.put(document.getInteger("_id"), document.getInteger("v"));
    return versions;
  }

  /** Every document at its newest version in the target, and every deleted one deleted (or never seen). */
  private static void awaitTargetEqualsSource(Target target, MongoCollection<Document> collection) {
    Await.until(Duration.ofSeconds(90), () -> {
      Map<Integer, Integer> source = source(collection);
      Map<Integer, Integer> live = new HashMap<>(target.versions);
      live.values().removeIf(v -> v == DELETED);
      return live.equals(source);
    }, () -> {
      Map<Integer, Integer> source = source(collection);
      long missing = source.keySet().stream().filter(id -> !target.versions.containsKey(id)).count();
      long stale = source.entrySet().stream().filter(e -> target.versions.containsKey(e.getKey())
          && !e.getValue().equals(target.versions.get(e.getKey()))).count();
      return "the target equal to the collection: " + missing + " missing, " + stale + " stale of " + source.size();
    });
  }

  private static Document request(MongoCollection<Document> signals, BsonValue id) {
    return signals.find(Filters.eq("_id", id)).first();
  }

  /** The notes of the history's signal checkpoints, oldest first: what the requests did. */
  private static List<String> signalNotes(List<io.tidemark.checkpoint.Checkpoint> history) {
    return history.stream().filter(c -> c.kind() == io.tidemark.checkpoint.CheckpointKind.SIGNAL).map(c -> c.note()).toList();
  }

  private static List<io.tidemark.checkpoint.Checkpoint> history(InMemoryCheckpointStore store, String stream) throws Exception {
    io.tidemark.checkpoint.StreamCheckpoints record = store.open(stream).toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      return record.history().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      record.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** What {@code tidemark snapshot pause|resume|stop} does to a request's document (the same conditional update). */
  private static void control(MongoCollection<Document> signals, String stream, BsonValue id, SignalCollection.Control control) {
    boolean started = request(signals, id).containsKey("startedAt");
    assertThat(signals.updateOne(control.target(stream, id), control.update(started, "the test")).getModifiedCount())
        .as(control.verb() + " request " + id).isEqualTo(1);
  }

  /** Waits until {@code count} more events have reached the target: the stream going on (and, at 100 writes a second, time passing). */
  private static void awaitEvents(Target target, long count, String why) {
    long from = target.events.get();
    Await.until(Duration.ofSeconds(60), () -> target.events.get() >= from + count, () -> count + " more events " + why);
  }

  @Test
  void aRequestWhileWritesStreamInBringsEveryDocumentToItsNewestVersionAndNoKeyEverRegresses() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "incremental-writes");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> items = mongo.database(DB).getCollection("items");
      MongoCollection<Document> signals = mongo.database(DB).getCollection("signals");
      insert(items);
      Target target = new Target();
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create(100_000);
      PipelineControl control = start("items-copy", mongo, store, 256, target, Runnable::run, system);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      BsonValue id;
      Document done;
      try (Writer writer = new Writer(items, target, () -> (int) control.stats().incrementalSnapshot().copied())) {
        Await.until(Duration.ofSeconds(30), () -> target.events.get() >= 200, () -> "the stream delivering the writes");
        // A malformed request first (the oldest): marked failed, saying why, and the next one is taken.
        Document malformed = new Document("stream", "items-copy").append("state", SignalCollection.PENDING);
        signals.insertOne(malformed);
        Document signal = SignalCollection.request("items-copy", new MongoNamespace(DB, "items"), null);
        signals.insertOne(signal);
        id = signal.toBsonDocument().get("_id");
        target.measuringLag = true;
        long eventsBefore = target.events.get();
        Await.until(Duration.ofSeconds(120), () -> SignalCollection.DONE.equals(request(signals, id).getString("state")),
            () -> "the request done (" + request(signals, id).toJson() + ")");
        target.measuringLag = false;
        long eventsDuringCopy = target.events.get() - eventsBefore;
        done = request(signals, id);
        Document refused = request(signals, malformed.toBsonDocument().get("_id"));
        assertThat(refused.getString("state")).isEqualTo(SignalCollection.FAILED);
        assertThat(refused.getString("note")).contains("has no collection");
        assertThat(target.regressions).as("no key went back to an older version during the copy").isEmpty();
        awaitTargetEqualsSource(target, items); // the writer is still running: the target follows it
        long writes = writer.writes.get();
        System.out.printf("incremental snapshot under %d writes: %d rows handed on, %d read, %d dropped by the reconciliation, %d chunks;"
                + " %d events during the copy, max lag %d ms%n", writes, target.rows.get(), control.stats().incrementalSnapshot().rowsRead(),
            control.stats().incrementalSnapshot().rowsDropped(), done.get("chunks"), eventsDuringCopy,
            TimeUnit.NANOSECONDS.toMillis(target.maxLagNanos.get()));
        assertThat(done.get("chunks", Number.class).longValue()).as("chunks of 256").isGreaterThanOrEqualTo(DOCUMENTS / 256);
        // The copy holds rows, never events: the stream goes on during it. (How long a write takes to reach the target
        // is printed above, not asserted: a speed is a benchmark's business, not a test's.)
        assertThat(eventsDuringCopy).as("the stream went on during the copy").isPositive();
      }
      awaitTargetEqualsSource(target, items);
      assertThat(target.regressions).as("no key ever went back to an older version").isEmpty();
      assertThat(control.stats().incrementalSnapshot().running()).isFalse();
      Map<String, Object> status = io.tidemark.management.StreamStatus.local(system).stream()
          .filter(stream -> "items-copy".equals(stream.get("stream"))).findFirst().orElseThrow();
      assertThat(status.get("incrementalSnapshot")).as("the request in the stream's status").isInstanceOfSatisfying(Map.class, copy -> {
        assertThat(copy.get("state")).isEqualTo("complete");
        assertThat(copy.get("collection")).isEqualTo(DB + ".items");
        assertThat((Long) copy.get("documentsCopied")).isGreaterThanOrEqualTo(DOCUMENTS / 2L);
        assertThat(copy.get("requestsCompleted")).isEqualTo(1L);
      });
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      io.tidemark.checkpoint.StreamCheckpoints record = store.open("items-copy").toCompletableFuture().get(30, TimeUnit.SECONDS);
      List<io.tidemark.checkpoint.Checkpoint> history = record.history().toCompletableFuture().get(30, TimeUnit.SECONDS);
      record.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(history).as("checkpoints saved at copied rows say so in the history")
          .anyMatch(c -> c.note() != null && c.note().startsWith("incremental snapshot of " + DB + ".items: copying, at {\"_id\": "));
      String described = "incremental snapshot " + id.asObjectId().getValue().toHexString() + " of " + DB + ".items: ";
      assertThat(signalNotes(history)).as("the request's start and end in the history, in that order")
          .containsSubsequence(described + "started", described + "done: " + done.get("copied") + " documents in " + done.get("chunks") + " chunks");
      for (int i = 1; i < history.size(); i++) {
        if (history.get(i).clusterTime() == null || history.get(i - 1).clusterTime() == null) continue;
        assertThat(history.get(i).clusterTime()).as("the checkpoints never go back in time: a copied row stands at the stream's position")
            .isGreaterThanOrEqualTo(history.get(i - 1).clusterTime());
      }
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A quiet stream (no writes at all) still passes each chunk's high watermark: its heartbeats carry
   * the server's position, and the rows go before them.
   */
  @Test
  void aQuietStreamCopiesTooItsHeartbeatsPassTheHighWatermark() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "incremental-quiet");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> items = mongo.database(DB).getCollection("items");
      MongoCollection<Document> signals = mongo.database(DB).getCollection("signals");
      insert(items);
      Target target = new Target();
      PipelineControl control = start("items-quiet", mongo, InMemoryCheckpointStore.create(), 1024, target, Runnable::run, system);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      Document signal = SignalCollection.request("items-quiet", new MongoNamespace(DB, "items"), BsonDocument.parse("{\"_id\": {\"$lt\": 3000}}"));
      signals.insertOne(signal);
      BsonValue id = signal.toBsonDocument().get("_id");
      Await.until(Duration.ofSeconds(120), () -> SignalCollection.DONE.equals(request(signals, id).getString("state")),
          () -> "the request done on a quiet stream (" + request(signals, id).toJson() + ")");
      // (The stream may see the last insert before its start again: startAtOperationTime is inclusive; no write after it.)
      assertThat(target.rows.get()).as("the documents the filter matches, each once").isEqualTo(3_000);
      assertThat(target.versions.keySet().stream().filter(key -> key < 3_000).count()).isEqualTo(3_000);
      assertThat(request(signals, id).get("copied", Number.class).longValue()).isEqualTo(3_000);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /**
   * A crash (the actor system terminated: no drain, no last checkpoint) in the middle of a request:
   * the next run reads the request's progress and goes on after the last chunk done, not from the
   * first document; within each run no key regresses (across the crash the stream replays from its
   * checkpoint, at least once, as always); at the end every document is at its newest version.
   */
  @Test
  void aCrashInTheMiddleOfARequestGoesOnAfterTheLastChunkDone() throws Exception {
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> items = mongo.database(DB).getCollection("items");
      MongoCollection<Document> signals = mongo.database(DB).getCollection("signals");
      insert(items);
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      Target first = new Target();
      Target second = new Target();
      // A stage that takes a little time per element, so that the crash finds rows in flight.
      java.util.concurrent.Executor slow = CompletableFuture.delayedExecutor(300, TimeUnit.MICROSECONDS);
      ActorSystem<Void> firstSystem = ActorSystem.create(Behaviors.empty(), "incremental-first");
      PipelineControl firstRun = start("items-crash", mongo, store, 100, first, slow, firstSystem);
      firstRun.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      AtomicLong copiedSoFar = new AtomicLong();
      try (Writer writer = new Writer(items, first, () -> (int) copiedSoFar.get())) {
        Await.until(Duration.ofSeconds(30), () -> first.events.get() >= 100, () -> "the stream delivering the writes");
        Document signal = SignalCollection.request("items-crash", new MongoNamespace(DB, "items"), null);
        signals.insertOne(signal);
        BsonValue id = signal.toBsonDocument().get("_id");
        Await.until(Duration.ofSeconds(60), () -> {
          Number chunks = request(signals, id).get("chunks", Number.class);
          copiedSoFar.set(firstRun.stats().incrementalSnapshot().copied());
          return chunks != null && chunks.longValue() >= 10;
        }, () -> "ten chunks done before the crash");
        firstSystem.terminate(); // abrupt: no drain, no last checkpoint
        firstSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        Document atCrash = request(signals, id);
        assertThat(atCrash.getString("state")).as("the request still running at the crash").isEqualTo(SignalCollection.RUNNING);
        long copiedBefore = atCrash.get("copied", Number.class).longValue();

        ActorSystem<Void> secondSystem = ActorSystem.create(Behaviors.empty(), "incremental-second");
        try {
          PipelineControl secondRun = start("items-crash", mongo, store, 100, second, Runnable::run, secondSystem);
          Await.until(Duration.ofSeconds(120), () -> {
                copiedSoFar.set(secondRun.stats().incrementalSnapshot().copied());
                return SignalCollection.DONE.equals(request(signals, id).getString("state"));
              },
              () -> "the request done after the crash (" + request(signals, id).toJson() + ")");
          Map<Integer, Integer> merged = new ConcurrentHashMap<>(first.versions);
          Await.until(Duration.ofSeconds(90), () -> {
            merged.putAll(second.versions);
            Map<Integer, Integer> live = new HashMap<>(merged);
            live.values().removeIf(v -> v == DELETED);
            return live.equals(source(items));
          }, () -> "every document at its newest version after the crash");
          long readAfter = secondRun.stats().incrementalSnapshot().rowsRead();
          System.out.printf("incremental snapshot crashed after %d documents copied; the second run read %d rows (of %d documents), %d dropped;"
                  + " %d writes in all%n", copiedBefore, readAfter, DOCUMENTS, secondRun.stats().incrementalSnapshot().rowsDropped(),
              writer.writes.get());
          assertThat(copiedBefore).as("progress recorded before the crash").isGreaterThanOrEqualTo(1_000);
          assertThat(readAfter).as("the second run went on after the last chunk done, not from the first document")
              .isLessThanOrEqualTo(DOCUMENTS + writer.writes.get() - copiedBefore + 100);
          assertThat(first.regressions).as("no key went back in the first run").isEmpty();
          assertThat(second.regressions).as("no key went back in the second run").isEmpty();
          secondRun.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        } finally {
          secondSystem.terminate();
          secondSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
      }
    }
  }

  /**
   * Pause and resume, across a crash: a paused request reads no chunk (the stream's events keep
   * flowing), stays paused when the stream restarts (the state is the request's document), and once
   * resumed goes on from its saved progress to the end, every document at its newest version. The
   * history says when it started, was paused, went on after the restart, was resumed and was done.
   */
  @Test
  void aPausedRequestCopiesNothingUntilResumedEvenAcrossACrashThenEndsWithEveryDocumentAtItsNewestVersion() throws Exception {
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> items = mongo.database(DB).getCollection("items");
      MongoCollection<Document> signals = mongo.database(DB).getCollection("signals");
      insert(items);
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      Target first = new Target();
      Target second = new Target();
      AtomicLong copiedSoFar = new AtomicLong();
      ActorSystem<Void> firstSystem = ActorSystem.create(Behaviors.empty(), "incremental-pause-first");
      PipelineControl firstRun = start("items-pause", mongo, store, 100, first, Runnable::run, firstSystem);
      firstRun.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      var firstProgress = firstRun.stats().incrementalSnapshot();
      try (Writer writer = new Writer(items, first, () -> (int) copiedSoFar.get())) {
        awaitEvents(first, 100, "before the request");
        Document signal = SignalCollection.request("items-pause", new MongoNamespace(DB, "items"), null);
        signals.insertOne(signal);
        BsonValue id = signal.toBsonDocument().get("_id");
        Await.until(Duration.ofSeconds(60), () -> {
          copiedSoFar.set(firstProgress.copied());
          return firstProgress.chunks() >= 3;
        }, () -> "three chunks done before the pause");
        control(signals, "items-pause", id, SignalCollection.Control.PAUSE);
        Await.until(Duration.ofSeconds(30), firstProgress::paused, () -> "the stream seeing the pause");
        // The chunk open when the pause was seen goes on to its end: once the events have passed it, every chunk read is recorded.
        awaitEvents(first, 50, "after the pause was seen");
        Await.until(Duration.ofSeconds(30), () -> firstProgress.copied() == firstProgress.rowsRead(), () -> "the chunk open at the pause recorded");
        long rowsAtPause = first.rows.get();
        long readAtPause = firstProgress.rowsRead();
        long copiedAtPause = request(signals, id).get("copied", Number.class).longValue();
        awaitEvents(first, 200, "while paused (at least ten poll intervals)");
        assertThat(first.rows.get()).as("no row copied while paused").isEqualTo(rowsAtPause);
        assertThat(firstProgress.rowsRead()).as("no chunk read while paused").isEqualTo(readAtPause);
        assertThat(request(signals, id).getString("state")).isEqualTo(SignalCollection.PAUSED);
        assertThat(request(signals, id).get("copied", Number.class).longValue()).as("the progress kept").isEqualTo(copiedAtPause);
        Map<String, Object> status = io.tidemark.management.StreamStatus.local(firstSystem).stream()
            .filter(stream -> "items-pause".equals(stream.get("stream"))).findFirst().orElseThrow();
        assertThat(status.get("incrementalSnapshot")).as("the pause in the stream's status")
            .isInstanceOfSatisfying(Map.class, copy -> assertThat(copy.get("state")).isEqualTo("paused"));

        firstSystem.terminate(); // abrupt, while paused: no drain, no last checkpoint
        firstSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        ActorSystem<Void> secondSystem = ActorSystem.create(Behaviors.empty(), "incremental-pause-second");
        try {
          PipelineControl secondRun = start("items-pause", mongo, store, 100, second, Runnable::run, secondSystem);
          var secondProgress = secondRun.stats().incrementalSnapshot();
          Await.until(Duration.ofSeconds(30), secondProgress::paused, () -> "the restarted stream taking the request, paused");
          awaitEvents(second, 200, "after the restart, still paused");
          assertThat(second.rows.get()).as("no row copied after the restart while paused").isZero();
          assertThat(secondProgress.rowsRead()).isZero();
          assertThat(request(signals, id).getString("state")).isEqualTo(SignalCollection.PAUSED);

          control(signals, "items-pause", id, SignalCollection.Control.RESUME);
          Await.until(Duration.ofSeconds(120), () -> {
                copiedSoFar.set(secondProgress.copied());
                return SignalCollection.DONE.equals(request(signals, id).getString("state"));
              }, () -> "the request done after the resume (" + request(signals, id).toJson() + ")");
          Map<Integer, Integer> merged = new ConcurrentHashMap<>(first.versions);
          Await.until(Duration.ofSeconds(90), () -> {
            merged.putAll(second.versions);
            Map<Integer, Integer> live = new HashMap<>(merged);
            live.values().removeIf(v -> v == DELETED);
            return live.equals(source(items));
          }, () -> "every document at its newest version after the resume");
          Document done = request(signals, id);
          System.out.printf("incremental snapshot paused after %d documents, crashed while paused, resumed: the second run read %d rows,"
                  + " the request %d documents in %d chunks; %d writes in all%n", copiedAtPause, secondProgress.rowsRead(),
              done.get("copied", Number.class).longValue(), done.get("chunks", Number.class).longValue(), writer.writes.get());
          assertThat(secondProgress.rowsRead()).as("the resumed request went on after its saved progress, not from the first document")
              .isLessThanOrEqualTo(DOCUMENTS + writer.writes.get() - copiedAtPause + 100);
          assertThat(first.regressions).as("no key went back in the first run").isEmpty();
          assertThat(second.regressions).as("no key went back in the second run").isEmpty();
          secondRun.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
          String described = "incremental snapshot " + id.asObjectId().getValue().toHexString() + " of " + DB + ".items: ";
          List<String> notes = signalNotes(history(store, "items-pause"));
          assertThat(notes).as("what the request did, in the history").startsWith(described + "started");
          assertThat(notes).anyMatch(note -> note.startsWith(described + "paused after "));
          assertThat(notes).anyMatch(note -> note.startsWith(described + "going on after _id ") && note.endsWith(", paused"));
          assertThat(notes).anyMatch(note -> note.startsWith(described + "resumed after _id "));
          assertThat(notes.get(notes.size() - 1)).startsWith(described + "done: ");
        } finally {
          secondSystem.terminate();
          secondSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        }
      }
    }
  }

  /**
   * Stop: the running request ends with state {@code stopped} and copies no more (no row after its
   * last recorded {@code _id}); a pending request stopped before its turn never starts; the next
   * request runs to the end while the stream goes on.
   */
  @Test
  void aStoppedRequestCopiesNoMoreAndTheNextRequestRuns() throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "incremental-stop");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> items = mongo.database(DB).getCollection("items");
      MongoCollection<Document> signals = mongo.database(DB).getCollection("signals");
      insert(items);
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      Target target = new Target();
      PipelineControl control = start("items-stop", mongo, store, 100, target, Runnable::run, system);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      var progress = control.stats().incrementalSnapshot();
      BsonValue wholeId;
      try (Writer writer = new Writer(items, target, () -> (int) progress.copied())) {
        awaitEvents(target, 100, "before the requests");
        MongoNamespace namespace = new MongoNamespace(DB, "items");
        Document whole = SignalCollection.request("items-stop", namespace, null);
        Document skipped = SignalCollection.request("items-stop", namespace, BsonDocument.parse("{\"_id\": {\"$lt\": 2000}}"));
        Document tail = SignalCollection.request("items-stop", namespace, BsonDocument.parse("{\"_id\": {\"$gte\": 4000, \"$lt\": 5000}}"));
        signals.insertMany(List.of(whole, skipped, tail));
        wholeId = whole.toBsonDocument().get("_id");
        BsonValue skippedId = skipped.toBsonDocument().get("_id");
        BsonValue tailId = tail.toBsonDocument().get("_id");
        Await.until(Duration.ofSeconds(60), () -> progress.chunks() >= 3, () -> "three chunks done before the stop");
        control(signals, "items-stop", skippedId, SignalCollection.Control.STOP); // pending: never starts
        control(signals, "items-stop", wholeId, SignalCollection.Control.STOP);
        Await.until(Duration.ofSeconds(30), () -> progress.stopped() == 1, () -> "the stream seeing the stop");
        Document stopped = request(signals, wholeId);
        assertThat(stopped.getString("state")).isEqualTo(SignalCollection.STOPPED);
        assertThat(stopped.getString("note")).startsWith("stopped by the test at ");
        Await.until(Duration.ofSeconds(120), () -> SignalCollection.DONE.equals(request(signals, tailId).getString("state")),
            () -> "the next request done (" + request(signals, tailId).toJson() + ")");
        Document stoppedAtEnd = request(signals, wholeId);
        int after = stoppedAtEnd.getInteger("after");
        assertThat(stoppedAtEnd.getString("state")).isEqualTo(SignalCollection.STOPPED);
        assertThat(stoppedAtEnd.get("copied")).as("no progress after the stop").isEqualTo(stopped.get("copied"));
        assertThat(target.copiedIds.stream().filter(key -> key < 4000 && key > after).toList())
            .as("no row of the stopped request after its last recorded _id " + after).isEmpty();
        assertThat(after).as("the stopped request copied only part of the collection").isLessThan(4000);
        Document never = request(signals, skippedId);
        assertThat(never.getString("state")).isEqualTo(SignalCollection.STOPPED);
        assertThat(never.containsKey("startedAt") || never.containsKey("copied")).as("the pending request stopped never started").isFalse();
        List<Integer> tailMissing = source(items).keySet().stream().filter(key -> key >= 4000 && key < 5000 && !target.copiedIds.contains(key))
            .toList();
        assertThat(tailMissing).as("every document the next request covers, copied").isEmpty();
        assertThat(target.regressions).as("no key went back to an older version").isEmpty();
        awaitEvents(target, 50, "after the requests: the stream went on");
        System.out.printf("incremental snapshot stopped after %d documents (after _id %d); the next request copied %s documents; %d writes%n",
            stoppedAtEnd.get("copied", Number.class).longValue(), after, request(signals, tailId).get("copied"), writer.writes.get());
      }
      Map<String, Object> status = io.tidemark.management.StreamStatus.local(system).stream()
          .filter(stream -> "items-stop".equals(stream.get("stream"))).findFirst().orElseThrow();
      assertThat(status.get("incrementalSnapshot")).isInstanceOfSatisfying(Map.class, copy -> {
        assertThat(copy.get("requestsStopped")).isEqualTo(1L);
        assertThat(copy.get("requestsCompleted")).isEqualTo(1L);
      });
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      String described = "incremental snapshot " + wholeId.asObjectId().getValue().toHexString() + " of " + DB + ".items: ";
      assertThat(signalNotes(history(store, "items-stop"))).as("the stop in the history")
          .anyMatch(note -> note.startsWith(described + "stopped after "));
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
