package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Await;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.connection.MongoConnector;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The MongoDB checkpoint store against the embedded server (or a replica set named by TIDEMARK_MONGODB_URI). */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoCheckpointStoreIT {
  private static final String DB = "checkpoint_it";

  private final FaultyMongo mongo = FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
  private final MongoCheckpointSettings settings = MongoCheckpointSettings.create(com.typesafe.config.ConfigFactory.load())
      .withDatabase(DB);
  private final ActorTestKit testKit = ActorTestKit.create("mongo-checkpoint-it");

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
    client.close();
    mongo.close();
  }

  private MongoCheckpointStore newStore() {
    return MongoCheckpointStore.create(client, settings);
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }

  private static Checkpoint checkpointAt(String stream, long seqNr) {
    ChangeEnvelope envelope = Envelopes.insert(seqNr);
    return Checkpoint.atToken(stream, envelope.resumeToken(), envelope.clusterTime());
  }


  @Test
  void aSavedCheckpointIsReadBackByAnotherStoreWithTheNextEpoch() throws Exception {
    StreamCheckpoints orders = await(newStore().open("orders"));
    assertThat(await(orders.load())).isEmpty();
    long epoch = await(orders.acquire()).epoch();
    assertThat(epoch).isEqualTo(1);
    await(orders.save(checkpointAt("orders", 41), epoch));
    await(orders.save(checkpointAt("orders", 42), epoch));
    await(orders.close());

    StreamCheckpoints again = await(newStore().open("orders"));
    Acquired acquired = await(again.acquire());
    assertThat(acquired.epoch()).isEqualTo(2);
    assertThat(acquired.checkpoint()).contains(checkpointAt("orders", 42));
    assertThat(acquired.checkpoint().get().epoch()).isEqualTo(1);
    assertThat(acquired.checkpoint().get().position().describe()).isEqualTo("resumeAfter " + Envelopes.insert(42).resumeToken().toJson());
    // One document per stream, keyed by its name.
    assertThat(mongo.database(DB).getCollection("tidemark_checkpoints").countDocuments(Filters.eq("_id", "orders"))).isEqualTo(1);
  }

  @Test
  void aStreamIsOpenedOncePerStore() throws Exception {
    MongoCheckpointStore store = newStore();
    StreamCheckpoints once = await(store.open("single"));
    assertThat(Await.failureOf(store.open("single"))).hasMessageContaining("already open in this process");
    await(once.close());
    assertThat(await(await(store.open("single")).load())).isEmpty();
  }

  /** A partitioned old leader and its successor, each with its own client, as on two nodes. */
  @Test
  void aFencedConsumerCannotWriteAndTheCheckpointNeverMovesBackwards() throws Exception {
    try (MongoClient otherNode = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10))) {
      StreamCheckpoints oldLeader = await(newStore().open("contested"));
      long oldEpoch = await(oldLeader.acquire()).epoch();
      await(oldLeader.save(checkpointAt("contested", 100), oldEpoch));

      StreamCheckpoints newLeader = await(MongoCheckpointStore.create(otherNode, settings).open("contested"));
      Acquired taken = await(newLeader.acquire());
      assertThat(taken.epoch()).isGreaterThan(oldEpoch);
      assertThat(taken.checkpoint()).contains(checkpointAt("contested", 100));

      for (long seqNr : new long[] {150, 101, 300}) {
        assertThat(Await.failureOf(oldLeader.save(checkpointAt("contested", seqNr), oldEpoch)))
            .isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
      }
      await(newLeader.save(checkpointAt("contested", 120), taken.epoch()));
      assertThat(Await.failureOf(newLeader.save(checkpointAt("contested", 110), taken.epoch())))
          .isInstanceOf(FencedException.class).hasMessageContaining("backwards");
      await(newLeader.save(checkpointAt("contested", 130), taken.epoch()));
      assertThat(Await.failureOf(oldLeader.save(checkpointAt("contested", 400), oldEpoch))).isInstanceOf(FencedException.class);

      Checkpoint stored = await(newLeader.load()).orElseThrow();
      assertThat(stored).isEqualTo(checkpointAt("contested", 130));
      assertThat(stored.epoch()).isEqualTo(taken.epoch());
      assertThat(await(newLeader.history())).extracting(Checkpoint::clusterTime)
          .containsExactly(checkpointAt("", 100).clusterTime(), checkpointAt("", 120).clusterTime(), checkpointAt("", 130).clusterTime());
    }
  }

  @Test
  void racingAcquiresEachTakeADifferentEpoch() throws Exception {
    // (The embedded server needed a fix for this: it answered racing findAndModify with a later post-image.)
    List<CompletableFuture<Acquired>> racing = IntStream.range(0, 32)
        .mapToObj(i -> newStore().open("raced").thenCompose(StreamCheckpoints::acquire).toCompletableFuture())
        .toList();
    List<Long> epochs = racing.stream().map(CompletableFuture::join).map(Acquired::epoch).sorted().toList();
    assertThat(epochs).containsExactlyElementsOf(LongStream.rangeClosed(1, 32).boxed().toList());
  }

  @Test
  void theHistoryKeepsNotableEntriesApartFromRoutineOnes() throws Exception {
    MongoCheckpointSettings small = settings.withCollection("small_history");
    StreamCheckpoints busy = await(MongoCheckpointStore.create(client, small).open("busy"));
    long epoch = await(busy.acquire()).epoch();
    await(busy.save(checkpointAt("busy", 1).as(CheckpointKind.GAP, "skipped 3 events"), epoch));
    int routine = small.historySize + 20;
    for (long seqNr = 2; seqNr <= routine + 1; seqNr++) await(busy.save(checkpointAt("busy", seqNr), epoch));

    List<Checkpoint> history = await(busy.history());
    assertThat(history).hasSize(small.historySize + 1);
    assertThat(history.get(0).kind()).isEqualTo(CheckpointKind.GAP);
    assertThat(history.get(0).note()).isEqualTo("skipped 3 events");
    assertThat(history.get(history.size() - 1)).isEqualTo(checkpointAt("busy", routine + 1));
  }

  @Test
  void snapshotProgressIsKeptWithItsIdType() throws Exception {
    StreamCheckpoints copying = await(newStore().open("copying"));
    long epoch = await(copying.acquire()).epoch();
    org.bson.BsonTimestamp at = new org.bson.BsonTimestamp(1_700_000_000, 1);
    org.bson.types.ObjectId last = new org.bson.types.ObjectId();
    await(copying.save(Checkpoint.snapshot("copying", at, null, null), epoch));
    await(copying.save(Checkpoint.snapshot("copying", at, new org.bson.BsonObjectId(last), null), epoch));
    await(copying.close());

    Checkpoint stored = await(await(newStore().open("copying")).acquire()).checkpoint().orElseThrow();
    assertThat(stored.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(stored.inSnapshot()).isTrue();
    assertThat(stored.snapshot().get("_id")).isEqualTo(new org.bson.BsonObjectId(last));
    assertThat(stored.position().describe()).contains("snapshot").contains(last.toHexString());
  }

  @Test
  void aCorruptStoredTokenIsReportedAndLeftAsItIs() throws Exception {
    mongo.database(DB).getCollection("tidemark_checkpoints").insertOne(
        new Document("_id", "corrupt").append("epoch", 3L).append("token", "not-a-token").append("kind", "event"));
    StreamCheckpoints corrupt = await(newStore().open("corrupt"));
    Acquired acquired = await(corrupt.acquire());
    assertThat(acquired.epoch()).isEqualTo(4);
    assertThat(acquired.checkpoint()).isEmpty();
    assertThat(acquired.corruption()).hasMessageContaining("stream 'corrupt'").hasMessageContaining("not-a-token")
        .hasMessageContaining("is not a resume token");
    assertThat(mongo.database(DB).getCollection("tidemark_checkpoints").find(Filters.eq("_id", "corrupt")).first().getString("token"))
        .isEqualTo("not-a-token");
  }

  @Test
  void anUnreachableServerIsReportedAsUnavailableInBoundedTime() throws Exception {
    int closedPort = io.tidemark.Clusters.freePort();
    try (MongoClient nowhere = MongoConnector.connect("mongodb://127.0.0.1:" + closedPort + "/?serverSelectionTimeoutMS=500",
        Duration.ofMillis(500))) {
      StreamCheckpoints lost = await(MongoCheckpointStore.create(nowhere, settings).open("lost"));
      assertThat(Await.failureOf(lost.acquire())).isInstanceOf(CheckpointStoreUnavailableException.class)
          .hasMessageContaining("could not take an epoch in checkpoint_it.tidemark_checkpoints");
    }
  }

  /** A pipeline on the MongoDB store: a graceful stop saves the last event, and the next run starts after it. */
  @Test
  void aPipelineResumesFromItsMongoCheckpoint() throws Exception {
    MongoCheckpointStore store = newStore();
    var orders = mongo.database(DB).getCollection("piped");
    List<Integer> first = runUntil(store, 50, () -> IntStream.range(0, 50).forEach(i -> orders.insertOne(new Document("_id", i))));
    assertThat(first).containsExactlyElementsOf(IntStream.range(0, 50).boxed().toList());
    orders.updateMany(Filters.lt("_id", 10), Updates.set("touched", true));
    List<Integer> second = runUntil(store, 10, () -> { });
    assertThat(second).containsExactlyElementsOf(IntStream.range(0, 10).boxed().toList());
  }

  private List<Integer> runUntil(MongoCheckpointStore store, int events, Runnable write) throws Exception {
    List<Integer> ids = new CopyOnWriteArrayList<>();
    PipelineControl control = Pipeline.named("piped")
        .mongoUri(mongo.uri())
        .collection(DB, "piped")
        .checkpoints(store)
        .windowSettings(WindowSettings.of(20, 5, Duration.ofMillis(100)))
        .mapAsync(event -> {
          ids.add(event.documentKey().getInt32("_id").getValue());
          return CompletableFuture.completedFuture(event);
        })
        .run(testKit.system());
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    write.run();
    io.tidemark.Await.until(Duration.ofSeconds(30), () -> ids.size() >= events, () -> "events delivered: " + ids.size());
    control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    return ids;
  }
}
