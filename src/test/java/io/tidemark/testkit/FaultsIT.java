package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.mongodb.MongoNamespace;
import com.mongodb.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointEntity;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointSettings;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.FaultSettings.Restart;
import io.tidemark.source.ResumeTokens;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.h2.tools.Server;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One test per change-stream fault, each asserting that no event is lost (or that the recorded
 * gap is exactly what the policy allows) and that the policy's visible effect happened. They run
 * against the kit's embedded server, or against the replica set {@code TIDEMARK_MONGODB_URI}
 * names (started with {@code enableTestCommands=1}); where a fault can only be made on the kit (a
 * real truncation of a capped oplog), the real-server branch makes the same fault another way.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FaultsIT {
  private static final String DB = "faults";
  private static final int OPLOG_ENTRIES = 2_000;

  private final FaultyMongo mongo =
      FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(OPLOG_ENTRIES));
  private final ActorTestKit testKit = ActorTestKit.create("faults-it", TestConfigs.h2Journal("faults_it"));
  private final List<PipelineControl> running = new CopyOnWriteArrayList<>();

  @AfterEach
  void stopPipelines() throws Exception {
    mongo.failPointsOff();
    List<PipelineControl> stopping = List.copyOf(running);
    running.clear();
    for (PipelineControl control : stopping) {
      control.drainAndStop().toCompletableFuture().exceptionally(error -> null).get(30, TimeUnit.SECONDS);
    }
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
    mongo.close();
  }

  // ---- the consumer under test --------------------------------------------------------------

  /** What a pipeline delivered: every event by its _id, in order. */
  static final class Received {
    final Map<Object, AtomicInteger> counts = new ConcurrentHashMap<>();
    final List<ChangeEnvelope> events = new CopyOnWriteArrayList<>();

    ChangeEnvelope record(ChangeEnvelope event) {
      events.add(event);
      if (event.documentKey() != null) {
        counts.computeIfAbsent(event.documentKey().get("_id").asInt32().getValue(), k -> new AtomicInteger()).incrementAndGet();
      }
      return event;
    }

    Set<Object> ids() {
      return new TreeSet<>(counts.keySet());
    }

    List<String> operations() {
      return events.stream().map(ChangeEnvelope::operationType).toList();
    }

    ChangeEnvelope last() {
      return events.get(events.size() - 1);
    }
  }

  private PipelineControl start(String stream, String collection, FaultSettings faults, CheckpointStore store, Received into) {
    return start(testKit.system(), stream, collection, faults, store, into);
  }

  private PipelineControl start(
      akka.actor.typed.ActorSystem<?> system, String stream, String collection, FaultSettings faults, CheckpointStore store,
      Received into) {
    PipelineControl control = Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .collection(DB, collection)
        .checkpoints(store)
        .windowSettings(WindowSettings.of(20, 5, Duration.ofMillis(100)).withRetryBackoff(Duration.ofMillis(100), Duration.ofMillis(500)))
        .sourceSettings(SourceSettings.create(system).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(faults)
        .mapAsync(event -> CompletableFuture.completedFuture(into.record(event)))
        .run(system);
    running.add(control);
    return control;
  }

  /** Starts a stream on the collection of the same name, writes events 0..n-1 and waits until they are delivered. */
  private PipelineControl runThrough(String stream, FaultSettings faults, CheckpointStore store, Received into, int events)
      throws Exception {
    PipelineControl control = start(stream, stream, faults, store, into);
    started(control);
    insert(stream, 0, events);
    awaitIds(into, range(0, events));
    return control;
  }

  private static FaultSettings quiet() {
    return FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10));
  }

  private static <T> T await(java.util.concurrent.CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static void started(PipelineControl control) throws Exception {
    await(control.stats().started());
  }

  private MongoCollection<Document> collection(String name) {
    return mongo.database(DB).getCollection(name);
  }

  private void insert(String collection, int from, int to) {
    List<Document> documents = new ArrayList<>();
    for (int id = from; id < to; id++) documents.add(new Document("_id", id).append("n", id));
    collection(collection).insertMany(documents);
  }

  private static Set<Object> range(int from, int to) {
    return new TreeSet<>(IntStream.range(from, to).boxed().toList());
  }

  private static void awaitIds(Received received, Set<Object> expected) {
    Await.until(Duration.ofSeconds(30), () -> received.ids().containsAll(expected),
        () -> "events " + expected + " delivered; have " + received.ids());
  }

  private static void awaitSavedToken(PipelineControl control, BsonDocument token) {
    Await.until(Duration.ofSeconds(30),
        () -> control.stats().window().lastSaved() != null && token.equals(control.stats().window().lastSaved().resumeToken()),
        () -> "checkpoint at " + token + "; have " + control.stats().window().lastSaved());
  }

  private BsonTimestamp operationTime() {
    Document pong = mongo.database(DB).runCommand(new Document("ping", 1));
    return pong.get("operationTime", BsonTimestamp.class);
  }

  private static long errors(PipelineControl control) {
    return control.stats().errors().values().stream().mapToLong(Long::longValue).sum();
  }

  private static Throwable failure(PipelineControl control) {
    try {
      control.completion().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("the pipeline did not stop within 30 s", e);
    }
    throw new AssertionError("the pipeline completed without an error");
  }

  /** Runs a stream over {@code count} events and stops it with its checkpoint at the last one; returns that token. */
  private BsonDocument checkpointAfter(String stream, String collection, int count, CheckpointStore store) throws Exception {
    Received received = new Received();
    PipelineControl control = start(stream, collection, quiet(), store, received);
    started(control);
    insert(collection, 0, count);
    awaitIds(received, range(0, count));
    awaitSavedToken(control, received.last().resumeToken());
    await(control.drainAndStop());
    running.remove(control);
    return received.last().resumeToken();
  }

  // ---- resumable faults: nothing lost --------------------------------------------------------

  @Test
  void aDroppedConnectionIsResumedWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("dropped", quiet(), InMemoryCheckpointStore.create(), received, 20);
    long before = errors(control);

    mongo.failCommand(FailCommand.on("getMore").closeConnection().times(1));
    insert("dropped", 20, 40);
    Await.until(Duration.ofSeconds(10), () -> errors(control) > before, () -> "the dropped connection seen; failed commands " + control.stats().errors());
    insert("dropped", 40, 60);

    awaitIds(received, range(0, 60));
    assertThat(received.counts.values()).as("each event once: resumed from the last delivered token").allMatch(n -> n.get() == 1);
    assertThat(control.stats().gaps()).isZero();
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  static Stream<Arguments> resumableErrors() {
    return Stream.of(
        Arguments.of(43, new String[0]),
        Arguments.of(237, new String[0]),
        Arguments.of(11602, new String[] {"ResumableChangeStreamError"}));
  }

  @ParameterizedTest(name = "code {0} {1}")
  @MethodSource("resumableErrors")
  void aResumableErrorOnGetMoreIsResumedAndCounted(int code, String[] labels) throws Exception {
    String name = "resumable-" + code;
    Received received = new Received();
    PipelineControl control = runThrough(name, quiet(), InMemoryCheckpointStore.create(), received, 10);

    mongo.failCommand(FailCommand.on("getMore").errorCode(code).errorLabels(labels).times(2));
    insert(name, 10, 30);

    awaitIds(received, range(0, 30));
    Await.until(Duration.ofSeconds(10), () -> control.stats().errors().getOrDefault(String.valueOf(code), 0L) >= 2,
        () -> "both injected " + code + "s counted; have " + control.stats().errors());
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().gaps()).isZero();
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  /**
   * Resumable errors while events queue behind a slow stage (so that events the cursor already
   * returned are still on their way through the source when it fails), with heartbeats on — the
   * defaults — and off: every event exactly once, in order.
   */
  @ParameterizedTest(name = "heartbeats {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void resumableErrorsWhileEventsQueueBehindASlowStageNeitherRepeatNorSkip(boolean heartbeats) throws Exception {
    String name = "queued-" + heartbeats;
    Received received = new Received();
    // Heartbeats on as by default (their merge in place), at an interval this test never reaches: the probe's own
    // cursor would take the fail point's hits.
    FaultSettings faults = FaultSettings.defaults().heartbeat(heartbeats, Duration.ofSeconds(30));
    PipelineControl control = Pipeline.named(name)
        .mongoUri(mongo.uri())
        .collection(DB, name)
        .checkpoints(InMemoryCheckpointStore.create())
        .windowSettings(WindowSettings.of(1, 1, Duration.ofMillis(50)))
        .sourceSettings(SourceSettings.create(testKit.system()).withBatchSize(3).withRestartBackoff(Duration.ofMillis(1), Duration.ofMillis(2)))
        .faults(faults)
        .mapAsync(event -> CompletableFuture.supplyAsync(() -> received.record(event),
            CompletableFuture.delayedExecutor(40, TimeUnit.MILLISECONDS)))
        .run(testKit.system());
    running.add(control);
    started(control);

    for (int wave = 0; wave < 4; wave++) {
      insert(name, wave * 10, wave * 10 + 10);
      int deliveredBefore = received.events.size();
      Await.until(Duration.ofSeconds(10), () -> received.events.size() > deliveredBefore, () -> "events of wave flowing");
      // The connection drops on the getMore and again on the driver's own resume: the stream reopens itself.
      mongo.failCommand(FailCommand.on("getMore", "aggregate").closeConnection().times(2));
    }

    awaitIds(received, range(0, 40));
    assertThat(received.events.stream().map(e -> e.documentKey().get("_id").asInt32().getValue()).toList())
        .as("each event once, in order, across the reopens").isEqualTo(IntStream.range(0, 40).boxed().toList());
  }

  @Test
  void aKilledCursorIsResumedWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("killed", quiet(), InMemoryCheckpointStore.create(), received, 10);

    Await.until(Duration.ofSeconds(10), () -> mongo.killChangeStreamCursors() > 0, () -> "an open change-stream cursor to kill");
    insert("killed", 10, 30);

    awaitIds(received, range(0, 30));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().errors()).as("the killed cursor's getMore failed with CursorNotFound").containsKey("43");
  }

  @Test
  void aServerErrorWithoutTheResumableLabelStopsTheStream() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("unlabelled", quiet(), InMemoryCheckpointStore.create(), received, 5);
    awaitSavedToken(control, received.last().resumeToken());

    // A 4.4+ server labels what is resumable; 11602 without the label is not.
    mongo.failCommand(FailCommand.on("getMore").errorCode(11602).times(1));
    insert("unlabelled", 5, 10);

    assertThat(failure(control)).hasMessageContaining("11602");
    assertThat(control.stats().window().lastSaved().resumeToken())
        .as("the checkpoint stays at the last delivered event: the next run resumes there")
        .isEqualTo(received.last().resumeToken());
  }

  @Test
  void aServerErrorOnTheAggregateThatAnElectionDidNotRaiseIsNeverResumed() throws Exception {
    // 13 Unauthorized: a reopen would fail the same way. (The driver tries a failed aggregate twice, as a retryable read.)
    mongo.failCommand(FailCommand.on("aggregate").errorCode(13).errorLabels("ResumableChangeStreamError").times(2));
    PipelineControl control = start("aggregate", "aggregate", quiet(), InMemoryCheckpointStore.create(), new Received());

    assertThat(failure(control)).hasMessageContaining("13");
    assertThat(control.stats().errors()).containsKey("13");
  }

  @Test
  void anElectionDuringAReopenIsWaitedOutWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("election", quiet(), InMemoryCheckpointStore.create(), received, 10);

    // The primary steps down: the getMore fails (labelled resumable), and so do the aggregates that reopen
    // the stream, until the new primary is up. (One fail point, as on a real server: getMore first.)
    mongo.failCommand(FailCommand.on("getMore", "aggregate").errorCode(10107).errorLabels("ResumableChangeStreamError").times(5));
    insert("election", 10, 30);

    awaitIds(received, range(0, 30));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().errors()).containsKey("10107");
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  // ---- history lost --------------------------------------------------------------------------

  /** Stores a checkpoint the server no longer has: truncated out of the kit's capped oplog, or, on a real replica set, long ago. */
  private Checkpoint lostCheckpoint(String stream, InMemoryCheckpointStore store) throws Exception {
    if (mongo.canTruncateOplog()) {
      checkpointAfter(stream, stream, 5, store);
      Checkpoint stored = store.get(stream).orElseThrow();
      long filled = mongo.pushOutOfOplog(stored.clusterTime(), DB, stream + "-filler");
      assertThat(filled).as("filler written to truncate the oplog").isGreaterThan(0);
      assertThat(mongo.oldestOplogTime()).isGreaterThan(stored.clusterTime());
      return stored;
    }
    StreamCheckpoints record = await(store.open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(Checkpoint.atOperationTime(stream, new BsonTimestamp(1, 1)).as(CheckpointKind.EVENT, null), epoch));
    await(record.close());
    return store.get(stream).orElseThrow();
  }

  @Test
  void historyLostFailsByDefaultAndLeavesTheCheckpoint() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Checkpoint lost = lostCheckpoint("lost-fail", store);

    Received received = new Received();
    PipelineControl control = start("lost-fail", "lost-fail", quiet(), store, received);

    assertThat(failure(control))
        .hasMessageContaining("stream 'lost-fail': history lost")
        .hasMessageContaining("286")
        .hasMessageContaining("on-history-lost = fail: stopped, checkpoint untouched");
    assertThat(store.get("lost-fail").orElseThrow().resumeToken()).isEqualTo(lost.resumeToken());
    assertThat(store.get("lost-fail").orElseThrow().clusterTime()).isEqualTo(lost.clusterTime());
    assertThat(received.events).isEmpty();
    assertThat(control.stats().gaps()).isZero();
  }

  @Test
  void historyLostRestartsFromTheOldestEntryAndRecordsTheGap() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    lostCheckpoint("lost-oldest", store);
    insert("lost-oldest", 100, 103); // in the oplog, after the truncation: the oldest entry still precedes them
    BsonTimestamp oldest = mongo.oldestOplogTime();

    Received received = new Received();
    PipelineControl control = start("lost-oldest", "lost-oldest", quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST), store, received);

    awaitIds(received, range(100, 103));
    Checkpoint gap = onlyGap(store, "lost-oldest");
    assertThat(gap.clusterTime()).as("restarted at the oldest entry the oplog holds").isEqualTo(oldest);
    assertThat(gap.note()).contains("history lost").contains("restart-from-oldest");
    assertThat(control.stats().gaps()).isEqualTo(1);
    assertThat(received.ids()).as("nothing still in the oplog was skipped").isEqualTo(range(100, 103));
  }

  @Test
  void historyLostRestartsFromNowAndRecordsTheGap() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    lostCheckpoint("lost-now", store);
    insert("lost-now", 200, 203); // before "now": skipped by the policy
    BsonTimestamp afterSkipped = operationTime();

    Received received = new Received();
    PipelineControl control = start("lost-now", "lost-now", quiet().onHistoryLost(Restart.RESTART_FROM_NOW), store, received);
    started(control);
    insert("lost-now", 203, 206);

    awaitIds(received, range(203, 206));
    Checkpoint gap = onlyGap(store, "lost-now");
    assertThat(gap.clusterTime()).as("the gap ends at now, after the skipped writes").isGreaterThanOrEqualTo(afterSkipped);
    assertThat(gap.note()).contains("history lost").contains("restart-from-now").containsPattern("the events after Timestamp\\(\\d+, \\d+\\) and before Timestamp\\(\\d+, \\d+\\) are skipped");
    assertThat(received.ids()).as("exactly the events after now").isEqualTo(range(203, 206));
    assertThat(control.stats().gaps()).isEqualTo(1);
  }

  @Test
  void historyLostWhileRunningRecordsTheGapAfterTheEventsBeforeIt() throws Exception {
    assumeTrue(mongo.canTruncateOplog(), "needs an oplog a test can turn over while the stream waits");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    CompletableFuture<Void> gate = new CompletableFuture<>();
    // Counts the change events the driver has received from the server for this stream.
    AtomicInteger read = new AtomicInteger();
    com.mongodb.event.CommandListener listener = new com.mongodb.event.CommandListener() {
      @Override
      public void commandSucceeded(com.mongodb.event.CommandSucceededEvent event) {
        BsonDocument cursor = event.getResponse().getDocument("cursor", null);
        if (cursor == null) return;
        var batch = cursor.containsKey("nextBatch") ? cursor.getArray("nextBatch") : cursor.getArray("firstBatch", new org.bson.BsonArray());
        batch.forEach(change -> {
          if (change.isDocument() && change.asDocument().containsKey("documentKey")) read.incrementAndGet();
        });
      }
    };
    com.mongodb.reactivestreams.client.MongoClient client = com.mongodb.reactivestreams.client.MongoClients.create(
        com.mongodb.MongoClientSettings.builder().applyConnectionString(new com.mongodb.ConnectionString(mongo.uri()))
            .addCommandListener(listener).build());
    PipelineControl control = Pipeline.named("behind")
        .mongoClient(client)
        .collection(DB, "behind")
        .checkpoints(store)
        .windowSettings(WindowSettings.of(5, 5, Duration.ofMillis(100)))
        .sourceSettings(SourceSettings.create(testKit.system()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST))
        .mapAsync(event -> gate.thenApply(open -> received.record(event)))
        .run(testKit.system());
    running.add(control);
    control.completion().whenComplete((done, error) -> client.close());
    started(control);
    BsonTimestamp lastWritten;
    try {
      insert("behind", 0, 30);
      // The stage holds the first event; the cursor reads as many as the stream asks for (its buffers), then waits.
      Await.until(Duration.ofSeconds(10), () -> read.get() >= 16, () -> "events read by the cursor; read " + read.get());
      lastWritten = operationTime();
      mongo.pushOutOfOplog(lastWritten, DB, "behind-filler");
    } finally {
      gate.complete(null);
    }
    insert("behind", 100, 103);

    awaitIds(received, range(100, 103));
    Set<Object> before = new TreeSet<>(received.ids());
    before.removeAll(range(100, 103));
    assertThat(before).as("what the cursor had read before the oplog rolled over it, in order, without holes")
        .isEqualTo(range(0, before.size())).isNotEmpty();
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    Checkpoint gap = onlyGap(store, "behind");
    assertThat(gap.note()).contains("history lost").contains("restart-from-oldest");
    assertThat(gap.clusterTime()).as("the gap ends past everything truncated").isGreaterThan(lastWritten);
    List<Checkpoint> history = store.history("behind");
    assertThat(history).extracting(Checkpoint::clusterTime).isSortedAccordingTo(BsonTimestamp::compareTo);
    int gapAt = history.indexOf(gap);
    ChangeEnvelope lastBefore = received.events.stream().filter(e -> !range(100, 103).contains(e.documentKey().getInt32("_id").getValue()))
        .reduce((a, b) -> b).orElseThrow();
    assertThat(history.subList(0, gapAt)).as("the events before the gap were checkpointed before it")
        .anyMatch(c -> lastBefore.resumeToken().equals(c.resumeToken()));
    assertThat(control.stats().gaps()).isEqualTo(1);
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  private static Checkpoint onlyGap(InMemoryCheckpointStore store, String stream) {
    List<Checkpoint> gaps = store.history(stream).stream().filter(c -> c.kind() == CheckpointKind.GAP).toList();
    assertThat(gaps).as("one gap recorded in the checkpoint history of %s", stream).hasSize(1);
    return gaps.get(0);
  }

  @Test
  void aTokenTheServerCannotFindIsHistoryLost() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    if (mongo.embedded()) {
      // A well-formed token of a time the oplog has no entry at, within its history: 280, "not found".
      BsonDocument token = checkpointAfter("not-found", "not-found", 3, store);
      String data = token.getString("_data").getValue();
      long ts = ResumeTokens.clusterTime(token).getValue() & 0xFFFFFFFF00000000L | 0xFFFFFF00L; // an increment never reached
      BsonDocument missing = new BsonDocument("_data", new BsonString(String.format("82%016X", ts) + data.substring(18)));
      saveToken(store, "not-found", missing);

      Received received = new Received();
      PipelineControl failing = start("not-found", "not-found", quiet(), store, received);
      assertThat(failure(failing)).hasMessageContaining("history lost").hasMessageContaining("280");
      running.remove(failing);

      PipelineControl control = start("not-found", "not-found", quiet().onHistoryLost(Restart.RESTART_FROM_NOW), store, received);
      started(control);
      insert("not-found", 10, 12);
      awaitIds(received, range(10, 12));
      assertThat(onlyGap(store, "not-found").note()).contains("280");
    } else {
      // A real 4.4+ server reports a token it cannot find as 286; a 280 on the aggregate is fatal.
      mongo.failCommand(FailCommand.on("aggregate").errorCode(280).times(1));
      PipelineControl control = start("not-found", "not-found", quiet(), store, new Received());
      assertThat(failure(control)).hasMessageContaining("280");
    }
  }

  @Test
  void restartFromTheOldestAfterATokenNotFoundMovesTheCheckpointBackAndSaysNothingWasSkipped() throws Exception {
    assumeTrue(mongo.embedded(), "a well-formed token the oplog has no entry at is made on the kit");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    BsonDocument token = checkpointAfter("not-found-oldest", "not-found-oldest", 3, store);
    String data = token.getString("_data").getValue();
    long ts = ResumeTokens.clusterTime(token).getValue() & 0xFFFFFFFF00000000L | 0xFFFFFF00L; // an increment never reached
    saveToken(store, "not-found-oldest", new BsonDocument("_data", new BsonString(String.format("82%016X", ts) + data.substring(18))));

    Received received = new Received();
    PipelineControl control = start("not-found-oldest", "not-found-oldest", quiet().onHistoryLost(Restart.RESTART_FROM_OLDEST), store, received);
    started(control);
    insert("not-found-oldest", 10, 12);

    // The oldest entry of the oplog is older than the lost position: the stream goes back there and replays.
    awaitIds(received, new TreeSet<>(List.of(0, 1, 2, 10, 11)));
    Checkpoint gap = onlyGap(store, "not-found-oldest");
    assertThat(gap.note()).contains("280").contains("restart-from-oldest").contains("nothing is skipped");
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  private void saveToken(InMemoryCheckpointStore store, String stream, BsonDocument token) throws Exception {
    StreamCheckpoints record = await(store.open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(new Checkpoint(stream, token, null, java.time.Instant.now(), epoch, CheckpointKind.REWIND, "test"), epoch));
    await(record.close());
  }

  // ---- invalid tokens ------------------------------------------------------------------------

  @Test
  void anInvalidTokenFailsClearlyOrRestartsAsThePolicySays() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    if (mongo.embedded()) {
      saveToken(store, "invalid", new BsonDocument("_data", new BsonString("not-a-token")));
    } else {
      checkpointAfter("invalid", "invalid", 3, store);
      mongo.failCommand(FailCommand.on("aggregate").errorCode(260).times(1));
    }
    PipelineControl failing = start("invalid", "invalid", quiet(), store, new Received());
    assertThat(failure(failing))
        .hasMessageContaining("stream 'invalid': the server refuses the resume token")
        .hasMessageContaining("260")
        .hasMessageContaining("on-invalid-token = fail: stopped, checkpoint untouched");
    running.remove(failing);
    assertThat(store.history("invalid")).noneMatch(c -> c.kind() == CheckpointKind.GAP);

    if (!mongo.embedded()) mongo.failCommand(FailCommand.on("aggregate").errorCode(260).times(1));
    Received received = new Received();
    PipelineControl control = start("invalid", "invalid", quiet().onInvalidToken(Restart.RESTART_FROM_NOW), store, received);
    started(control);
    insert("invalid", 10, 13);
    awaitIds(received, range(10, 13));
    assertThat(onlyGap(store, "invalid").note()).contains("invalid resume token").contains("260").contains("restart-from-now");
    assertThat(control.stats().gaps()).isEqualTo(1);
  }

  @Test
  void anUnparsableStoredTokenNamesTheStreamAndTheValue() throws Exception {
    JdbcCheckpointStore store = JdbcCheckpointStore.create(testKit.system());
    await(store.ready());
    var writer = testKit.spawn(CheckpointEntity.create("unparsable", JdbcCheckpointSettings.create(testKit.system())));
    akka.pattern.StatusReply<akka.Done> written = await(akka.actor.typed.javadsl.AskPattern.ask(
        writer, (akka.actor.typed.ActorRef<akka.pattern.StatusReply<akka.Done>> replyTo) ->
            new CheckpointEntity.Save("{\"_data\": 82", 5L, 1L, 0L, replyTo),
        Duration.ofSeconds(10), testKit.system().scheduler()));
    assertThat(written.isSuccess()).isTrue();
    testKit.stop(writer);

    PipelineControl failing = start("unparsable", "unparsable", quiet(), store, new Received());
    assertThat(failure(failing))
        .hasMessageContaining("stream 'unparsable'")
        .hasMessageContaining("'{\"_data\": 82'")
        .hasMessageContaining("is not valid JSON");
    running.remove(failing);

    Received received = new Received();
    PipelineControl control = runThrough("unparsable", quiet().onInvalidToken(Restart.RESTART_FROM_NOW), store, received, 3);
    await(control.drainAndStop());
    running.remove(control);
    StreamCheckpoints record = await(store.open("unparsable"));
    List<Checkpoint> history = await(record.history());
    await(record.close());
    assertThat(history).filteredOn(c -> c.kind() == CheckpointKind.GAP).singleElement()
        .satisfies(gap -> assertThat(gap.note()).contains("unusable stored token").contains("restart-from-now"));
  }

  // ---- invalidate ----------------------------------------------------------------------------

  @Test
  void aDropEndsTheStreamKeepingTheInvalidateToken() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("dropped-coll", quiet(), store, received, 5);

    collection("dropped-coll").drop();

    await(control.completion());
    assertThat(received.operations()).endsWith("drop", "invalidate");
    Checkpoint kept = store.get("dropped-coll").orElseThrow();
    assertThat(kept.kind()).isEqualTo(CheckpointKind.INVALIDATE);
    assertThat(kept.resumeToken()).isEqualTo(received.last().resumeToken());

    running.remove(control);
    PipelineControl again = start("dropped-coll", "dropped-coll", quiet(), store, received);
    assertThat(failure(again)).hasMessageContaining("ended at an invalidate").hasMessageContaining("follow-collection = on");
    assertThat(store.get("dropped-coll").orElseThrow().kind()).isEqualTo(CheckpointKind.INVALIDATE);
  }

  @Test
  void followingTheCollectionGoesOnAfterADropWithStartAfter() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("follow-drop", quiet().followCollection(true), store, received, 5);

    collection("follow-drop").drop();
    Await.until(Duration.ofSeconds(30), () -> received.operations().contains("invalidate"), () -> "the invalidate delivered");
    insert("follow-drop", 5, 10);

    awaitIds(received, range(0, 10));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  @Test
  void aRenameEndsTheStreamAndFollowingGoesOn() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("renamed", quiet(), store, received, 5);

    collection("renamed").renameCollection(new MongoNamespace(DB, "renamed-old"));

    await(control.completion());
    running.remove(control);
    assertThat(received.operations()).endsWith("rename", "invalidate");
    assertThat(store.get("renamed").orElseThrow().kind()).isEqualTo(CheckpointKind.INVALIDATE);

    // The same stream, told to follow, goes on with startAfter the invalidate: the collection's next life.
    PipelineControl following = start("renamed", "renamed", quiet().followCollection(true), store, received);
    started(following);
    insert("renamed", 5, 8);
    awaitIds(received, range(0, 8));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
  }

  // ---- checkpoint store down -----------------------------------------------------------------

  @Test
  void theCheckpointDatabaseDownForTenSecondsHoldsTheWindowAndResumes(@TempDir Path dir) throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Server h2 = startH2(port, dir);
    String url = "jdbc:h2:tcp://127.0.0.1:" + port + "/./checkpoints";
    ActorTestKit kit = ActorTestKit.create("faults-db-down",
        com.typesafe.config.ConfigFactory.parseString("tidemark.checkpoint.jdbc.ask-timeout = 1s")
            .withFallback(TestConfigs.journal(url, "slick.jdbc.H2Profile$", "org.h2.Driver", "sa", "")));
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      Received received = new Received();
      PipelineControl control = start(kit.system(), "db-down", "db-down", quiet(), store, received);
      started(control);
      insert("db-down", 0, 30);
      awaitIds(received, range(0, 30));
      awaitSavedToken(control, received.last().resumeToken());
      Checkpoint beforeOutage = control.stats().window().lastSaved();

      h2.stop();
      long saves = control.stats().window().saves();
      insert("db-down", 30, 100);
      long outageEnds = System.nanoTime() + Duration.ofSeconds(10).toNanos();
      int mostInFlight = 0;
      while (System.nanoTime() < outageEnds) {
        mostInFlight = Math.max(mostInFlight, control.stats().window().inFlight());
        assertThat(control.stats().window().lastSaved()).as("no checkpoint past the last saved token while the store is down")
            .isEqualTo(beforeOutage);
        Thread.sleep(100);
      }
      assertThat(control.stats().window().saves()).isEqualTo(saves);
      WindowSettings window = WindowSettings.of(20, 5, Duration.ofMillis(100));
      assertThat(control.stats().window().admitted() - 30)
          .as("admitted past the last saved token during the outage: at most the replay bound, the source waited")
          .isLessThanOrEqualTo(window.replayBound())
          .isLessThan(70);
      assertThat(mostInFlight).isLessThanOrEqualTo(20);

      h2 = startH2(port, dir);
      awaitIds(received, range(0, 100));
      awaitSavedToken(control, received.last().resumeToken());
      assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
      await(control.drainAndStop());
      running.remove(control);
      StreamCheckpoints record = await(store.open("db-down"));
      assertThat(await(record.load()).orElseThrow().resumeToken()).isEqualTo(received.last().resumeToken());
      await(record.close());
    } finally {
      kit.shutdownTestKit();
      h2.stop();
    }
  }

  private static Server startH2(int port, Path dir) throws Exception {
    return Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists", "-baseDir", dir.toString()).start();
  }

  // ---- heartbeats ----------------------------------------------------------------------------

  @Test
  void heartbeatsKeepAQuietCollectionsCheckpointInTheOplog() throws Exception {
    FaultSettings heartbeats = FaultSettings.defaults().heartbeat(true, Duration.ofMillis(200));
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("quiet", heartbeats, store, received, 1);
    BsonTimestamp quietEvent = received.last().clusterTime();

    writeElsewhere("busy");

    Await.until(Duration.ofSeconds(30), () -> {
          Checkpoint saved = store.get("quiet").orElseThrow();
          return saved.kind() == CheckpointKind.HEARTBEAT && saved.clusterTime() != null
              && saved.clusterTime().compareTo(mongo.oldestOplogTime()) >= 0;
        }, () -> "a heartbeat checkpoint still in the oplog; have " + store.get("quiet") + ", oldest entry " + mongo.oldestOplogTime());
    if (mongo.canTruncateOplog()) {
      assertThat(mongo.oldestOplogTime()).as("the quiet event itself was truncated").isGreaterThan(quietEvent);
    }
    await(control.drainAndStop());
    running.remove(control);

    PipelineControl again = start("quiet", "quiet", heartbeats, store, received);
    started(again);
    insert("quiet", 1, 3);
    awaitIds(received, range(0, 3));
    assertThat(again.stats().gaps()).isZero();
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
  }

  @Test
  void withoutHeartbeatsTheQuietCollectionsCheckpointAgesOut() throws Exception {
    assumeTrue(mongo.canTruncateOplog(), "a real replica set's oplog is too large to turn over in a test; the kit shows the control case");
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("aged", quiet(), store, received, 1);
    awaitSavedToken(control, received.last().resumeToken());

    writeElsewhere("busy-aged");
    await(control.drainAndStop());
    running.remove(control);

    PipelineControl again = start("aged", "aged", quiet(), store, new Received());
    assertThat(failure(again)).hasMessageContaining("history lost").hasMessageContaining("286");
  }

  /** Writes to another collection, in batches with pauses, until the oplog has been turned over 1.5 times. */
  private void writeElsewhere(String busy) throws InterruptedException {
    int writes = mongo.canTruncateOplog() ? OPLOG_ENTRIES * 3 / 2 : 2_000;
    for (int id = 0; id < writes; id += 100) {
      insert(busy, id, id + 100);
      Thread.sleep(40);
    }
  }
}
