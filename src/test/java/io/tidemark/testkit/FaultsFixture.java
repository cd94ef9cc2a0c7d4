package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import com.mongodb.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.PipelineTestBase;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;

/**
 * What the change-stream fault tests share, one class per fault family: a server to make faults on
 * (the kit's embedded server, or the replica set {@code TIDEMARK_MONGODB_URI} names, started with
 * {@code enableTestCommands=1}), the consumer under test, and the waits. Each test asserts that no
 * event is lost (or that the recorded gap is exactly what the policy allows) and that the policy's
 * visible effect happened. After each test the fail points are turned off and every pipeline is
 * drained ({@link PipelineTestBase}).
 */
abstract class FaultsFixture extends PipelineTestBase {
  static final String DB = "faults";
  static final int OPLOG_ENTRIES = 2_000;
  /** The longest wait for one thing the test expects to happen. */
  static final Duration PATIENCE = Duration.ofSeconds(30);

  final FaultyMongo mongo =
      FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(OPLOG_ENTRIES));

  @AfterEach
  void failPointsOff() {
    mongo.failPointsOff();
  }

  @AfterAll
  void closeMongo() {
    mongo.close();
  }

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

  PipelineControl start(String stream, String collection, FaultSettings faults, CheckpointStore store, Received into) {
    return run(pipeline(system(), stream, collection, faults, store, into));
  }

  /** The consumer under test, in {@code system}: every event recorded, small windows, quick restarts. */
  io.tidemark.pipeline.PipelineBuilder<?> pipeline(
      ActorSystem<?> system, String stream, String collection, FaultSettings faults, CheckpointStore store, Received into) {
    return Pipeline.named(stream)
        .mongoUri(mongo.uri())
        .collection(DB, collection)
        .checkpoints(store)
        .windowSettings(WindowSettings.of(20, 5, Duration.ofMillis(100)).withRetryBackoff(Duration.ofMillis(100), Duration.ofMillis(500)))
        .sourceSettings(SourceSettings.create(system).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
        .faults(faults)
        .mapAsync(event -> CompletableFuture.completedFuture(into.record(event)));
  }

  /** Starts a stream on the collection of the same name, writes events 0..n-1 and waits until they are delivered. */
  PipelineControl runThrough(String stream, FaultSettings faults, CheckpointStore store, Received into, int events) throws Exception {
    PipelineControl control = start(stream, stream, faults, store, into);
    started(control);
    insert(stream, 0, events);
    awaitIds(into, range(0, events));
    return control;
  }

  static FaultSettings quiet() {
    return FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10));
  }

  static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
  }

  static void started(PipelineControl control) throws Exception {
    await(control.stats().started());
  }

  MongoCollection<Document> collection(String name) {
    return mongo.database(DB).getCollection(name);
  }

  void insert(String collection, int from, int to) {
    List<Document> documents = new ArrayList<>();
    for (int id = from; id < to; id++) documents.add(new Document("_id", id).append("n", id));
    collection(collection).insertMany(documents);
  }

  static Set<Object> range(int from, int to) {
    return new TreeSet<>(IntStream.range(from, to).boxed().toList());
  }

  static void awaitIds(Received received, Set<Object> expected) {
    Await.until(PATIENCE, () -> received.ids().containsAll(expected), () -> "events " + expected + " delivered; have " + received.ids());
  }

  static void awaitSavedToken(PipelineControl control, BsonDocument token) {
    Await.until(PATIENCE,
        () -> control.stats().window().lastSaved() != null && token.equals(control.stats().window().lastSaved().resumeToken()),
        () -> "checkpoint at " + token + "; have " + control.stats().window().lastSaved());
  }

  BsonTimestamp operationTime() {
    Document pong = mongo.database(DB).runCommand(new Document("ping", 1));
    return pong.get("operationTime", BsonTimestamp.class);
  }

  static long errors(PipelineControl control) {
    return control.stats().errors().values().stream().mapToLong(Long::longValue).sum();
  }

  /** The error the pipeline stopped with; fails when it does not stop, or stops without one. */
  static Throwable failure(PipelineControl control) {
    try {
      control.completion().toCompletableFuture().get(PATIENCE.toSeconds(), TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError("the pipeline did not stop within " + PATIENCE.toSeconds() + " s", e);
    }
    throw new AssertionError("the pipeline completed without an error");
  }

  /** Runs a stream over {@code count} events and stops it with its checkpoint at the last one; returns that token. */
  BsonDocument checkpointAfter(String stream, String collection, int count, CheckpointStore store) throws Exception {
    Received received = new Received();
    PipelineControl control = start(stream, collection, quiet(), store, received);
    started(control);
    insert(collection, 0, count);
    awaitIds(received, range(0, count));
    awaitSavedToken(control, received.last().resumeToken());
    await(control.drainAndStop());
    return received.last().resumeToken();
  }

  static Checkpoint onlyGap(InMemoryCheckpointStore store, String stream) {
    List<Checkpoint> gaps = store.history(stream).stream().filter(c -> c.kind() == CheckpointKind.GAP).toList();
    assertThat(gaps).as("one gap recorded in the checkpoint history of %s", stream).hasSize(1);
    return gaps.get(0);
  }

  /** Stores {@code token} as the stream's checkpoint, as a rewind by hand would. */
  static void saveToken(InMemoryCheckpointStore store, String stream, BsonDocument token) throws Exception {
    StreamCheckpoints record = await(store.open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(new Checkpoint(stream, token, null, java.time.Instant.now(), epoch, CheckpointKind.REWIND, "test"), epoch));
    await(record.close());
  }
}
