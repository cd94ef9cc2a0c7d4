package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import io.tidemark.Await;
import io.tidemark.PipelineTestBase;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointAdmin;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointReplica;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointAdmin;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointAdmin;
import io.tidemark.checkpoint.MongoCheckpointSettings;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ResumePosition;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Where a run starts when the stored checkpoint and the in-memory replica disagree. A checkpoint
 * an operator wrote by hand (rewind, reset) must win over any replica from before it, on every
 * store; a replica must carry the kind of its position (an invalidate resumes with startAfter).
 */
class StartPositionIT extends PipelineTestBase {
  private static final String DB = "positions";
  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoClients.create(mongo.connectionString());
  private final com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString());
  private final ActorSystem<Void> journal = journalKit(
      com.typesafe.config.ConfigFactory.parseString("tidemark.checkpoint.jdbc.ask-timeout = 10s")
          .withFallback(TestConfigs.h2Journal("start_position"))).system();

  @AfterAll
  void shutdown() {
    client.close();
    sync.close();
    mongo.close();
  }

  /** A replica held in memory, as Distributed Data would hold it: what was published last, with its writer's epoch. */
  static final class MemoryReplica implements CheckpointReplica {
    final Map<String, Checkpoint> entries = new ConcurrentHashMap<>();

    @Override
    public void publish(Checkpoint safe, long epoch) {
      entries.put(safe.stream(), safe.withEpoch(epoch));
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> read(String stream) {
      return CompletableFuture.completedFuture(Optional.ofNullable(entries.get(stream)));
    }
  }

  /** Inserts documents 0..n-1 into the collection and returns the tokens of their events, in order. */
  private List<ChangeStreamDocument<Document>> insertAndWatch(String collection, int n) {
    var coll = sync.getDatabase(DB).getCollection(collection);
    List<ChangeStreamDocument<Document>> events = new ArrayList<>();
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = coll.watch().maxAwaitTime(100, TimeUnit.MILLISECONDS).cursor()) {
      cursor.tryNext();
      for (int i = 0; i < n; i++) coll.insertOne(new Document("_id", i));
      while (events.size() < n) {
        ChangeStreamDocument<Document> next = cursor.tryNext();
        if (next != null) events.add(next);
      }
    }
    return events;
  }

  private record Store(CheckpointStore store, CheckpointAdmin admin) {}

  private Store store(String kind) {
    if (kind.equals("jdbc")) return new Store(JdbcCheckpointStore.create(journal), new JdbcCheckpointAdmin(journal, Duration.ofSeconds(10)));
    MongoCheckpointSettings settings = MongoCheckpointSettings.create(system());
    return new Store(MongoCheckpointStore.create(client, settings), new MongoCheckpointAdmin(client, settings));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  /**
   * A consumer held the stream (epoch 1), saved a checkpoint at event {@code durable} and published
   * a fresher one at event 9 to the replica; then it crashed.
   */
  private void consumerCrashedWithAFresherReplica(
      Store store, MemoryReplica replica, String stream, List<ChangeStreamDocument<Document>> events, int durable) throws Exception {
    StreamCheckpoints record = await(store.store().open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(Checkpoint.atToken(stream, events.get(durable).getResumeToken(), events.get(durable).getClusterTime()), epoch));
    await(record.close());
    replica.publish(Checkpoint.atToken(stream, events.get(9).getResumeToken(), events.get(9).getClusterTime()), epoch);
  }

  private PipelineControl start(String stream, String collection, Store store, MemoryReplica replica, List<Integer> into) {
    return run(Pipeline.named(stream)
        .mongoClient(client)
        .collection(DB, collection)
        .checkpoints(store.store())
        .replica(replica)
        .windowSettings(WindowSettings.of(10, 5, Duration.ofMillis(50)))
        .mapAsync(event -> {
          if (event.documentKey() != null) into.add(event.documentKey().getInt32("_id").getValue());
          return CompletableFuture.completedFuture(event);
        }));
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"jdbc", "mongodb"})
  void aRewindByHandWinsOverAReplicaWrittenBeforeIt(String kind) throws Exception {
    String stream = "rewound-" + kind;
    Store store = store(kind);
    MemoryReplica replica = new MemoryReplica();
    List<ChangeStreamDocument<Document>> events = insertAndWatch(stream, 10);
    consumerCrashedWithAFresherReplica(store, replica, stream, events, 5);

    store.admin().rewind(stream, events.get(1).getResumeToken(), null, "replay from event 2", false);
    List<Integer> delivered = new CopyOnWriteArrayList<>();
    start(stream, stream, store, replica, delivered);

    Await.until(Duration.ofSeconds(20), () -> delivered.size() >= 8, () -> "events 2..9 replayed as asked; have " + delivered);
    assertThat(delivered).startsWith(2, 3, 4, 5, 6, 7, 8, 9);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"jdbc", "mongodb"})
  void aResetByHandWinsOverAReplicaWrittenBeforeIt(String kind) throws Exception {
    String stream = "reset-" + kind;
    Store store = store(kind);
    MemoryReplica replica = new MemoryReplica();
    List<ChangeStreamDocument<Document>> events = insertAndWatch(stream, 10);
    consumerCrashedWithAFresherReplica(store, replica, stream, events, 5);

    store.admin().reset(stream, "start over", false);
    PipelineControl control = start(stream, stream, store, replica, new CopyOnWriteArrayList<>());

    ResumePosition started = await(control.stats().started());
    assertThat(started).as("after a reset the stream starts now, not at the replica's token")
        .isInstanceOf(ResumePosition.StartAtOperationTime.class);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"jdbc", "mongodb"})
  void aFresherReplicaOfTheConsumerJustBeforeIsUsed(String kind) throws Exception {
    String stream = "fresher-" + kind;
    Store store = store(kind);
    MemoryReplica replica = new MemoryReplica();
    List<ChangeStreamDocument<Document>> events = insertAndWatch(stream, 12);
    consumerCrashedWithAFresherReplica(store, replica, stream, events, 5);

    List<Integer> delivered = new CopyOnWriteArrayList<>();
    PipelineControl control = start(stream, stream, store, replica, delivered);

    assertThat(await(control.stats().started())).isEqualTo(ResumePosition.resumeAfter(events.get(9).getResumeToken()));
    Await.until(Duration.ofSeconds(20), () -> delivered.size() >= 2, () -> "events 10 and 11; have " + delivered);
    assertThat(delivered).startsWith(10, 11);
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"jdbc", "mongodb"})
  void aReplicatedInvalidateIsResumedWithStartAfter(String kind) throws Exception {
    String stream = "invalidated-" + kind;
    Store store = store(kind);
    MemoryReplica replica = new MemoryReplica();
    var coll = sync.getDatabase(DB).getCollection(stream);
    List<ChangeStreamDocument<Document>> events = new ArrayList<>();
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = coll.watch().maxAwaitTime(100, TimeUnit.MILLISECONDS).cursor()) {
      cursor.tryNext();
      coll.insertOne(new Document("_id", 0));
      coll.drop();
      while (events.isEmpty() || !"invalidate".equals(events.get(events.size() - 1).getOperationTypeString())) {
        ChangeStreamDocument<Document> next = cursor.tryNext();
        if (next != null) events.add(next);
      }
    }
    ChangeStreamDocument<Document> invalidate = events.get(events.size() - 1);
    StreamCheckpoints record = await(store.store().open(stream));
    long epoch = await(record.acquire()).epoch();
    await(record.save(Checkpoint.atToken(stream, events.get(0).getResumeToken(), events.get(0).getClusterTime()), epoch));
    await(record.close());
    // What the window publishes at an invalidate: its token, of kind invalidate.
    replica.publish(Checkpoint.atToken(stream, invalidate.getResumeToken(), invalidate.getClusterTime()).as(CheckpointKind.INVALIDATE, null), epoch);
    coll.insertOne(new Document("_id", 1)); // the collection again, after the drop

    List<Integer> delivered = new CopyOnWriteArrayList<>();
    PipelineControl control = run(Pipeline.named(stream)
        .mongoClient(client)
        .collection(DB, stream)
        .checkpoints(store.store())
        .replica(replica)
        .faults(io.tidemark.source.FaultSettings.defaults().followCollection(true))
        .windowSettings(WindowSettings.of(10, 5, Duration.ofMillis(50)))
        .mapAsync(event -> {
          if (event.documentKey() != null) delivered.add(event.documentKey().getInt32("_id").getValue());
          return CompletableFuture.completedFuture(event);
        }));

    assertThat(await(control.stats().started())).isEqualTo(ResumePosition.startAfter(invalidate.getResumeToken()));
    Await.until(Duration.ofSeconds(20), () -> delivered.contains(1), () -> "the insert after the drop; have " + delivered);
  }
}
