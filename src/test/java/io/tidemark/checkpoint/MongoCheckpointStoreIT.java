package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Await;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.connection.MongoConnector;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.LongStream;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint contract on MongoDB, the embedded server (or a replica set named by
 * TIDEMARK_MONGODB_URI), each store with a client of its own as on another node; and what only
 * this store does: one document per stream, racing epochs, a pipeline on it.
 */
class MongoCheckpointStoreIT extends CheckpointStoreContract {
  private static final String DB = "checkpoint_it";

  private final FaultyMongo mongo = FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
  private final MongoCheckpointSettings settings = MongoCheckpointSettings.create(
          com.typesafe.config.ConfigFactory.parseString("tidemark.checkpoint.mongodb.history-size = 10")
              .withFallback(com.typesafe.config.ConfigFactory.load()))
      .withDatabase(DB);
  private final ActorTestKit testKit = ActorTestKit.create("mongo-checkpoint-it");
  private final List<MongoClient> nodes = new CopyOnWriteArrayList<>();

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
    nodes.forEach(MongoClient::close);
    client.close();
    mongo.close();
  }

  @Override
  MongoCheckpointStore newStore() {
    MongoClient node = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
    nodes.add(node);
    return MongoCheckpointStore.create(node, settings);
  }

  @Override
  int historySize() {
    return settings.historySize;
  }

  @Override
  Optional<CheckpointAdmin> admin() {
    return Optional.of(new MongoCheckpointAdmin(client, settings));
  }

  @Override
  boolean storeCorruptToken(String stream, String raw) {
    mongo.database(DB).getCollection("tidemark_checkpoints").insertOne(
        new Document("_id", stream).append("epoch", 3L).append("token", raw).append("kind", "event"));
    return true;
  }


  @Test
  void oneDocumentPerStreamKeyedByItsName() throws Exception {
    String orders = stream("orders");
    StreamCheckpoints record = await(newStore().open(orders));
    long epoch = await(record.acquire()).epoch();
    assertThat(epoch).isEqualTo(1);
    await(record.save(checkpointAt(orders, 41), epoch));
    await(record.save(checkpointAt(orders, 42), epoch));
    await(record.close());
    var documents = mongo.database(DB).getCollection("tidemark_checkpoints");
    assertThat(documents.countDocuments(Filters.eq("_id", orders))).isEqualTo(1);
    assertThat(documents.find(Filters.eq("_id", orders)).first().getLong("epoch")).isEqualTo(1);
  }

  @Test
  void racingAcquiresEachTakeADifferentEpoch() throws Exception {
    // (The embedded server needed a fix for this: it answered racing findAndModify with a later post-image.)
    String raced = stream("raced");
    List<CompletableFuture<Acquired>> racing = IntStream.range(0, 32)
        .mapToObj(i -> MongoCheckpointStore.create(client, settings).open(raced).thenCompose(StreamCheckpoints::acquire).toCompletableFuture())
        .toList();
    List<Long> epochs = racing.stream().map(CompletableFuture::join).map(Acquired::epoch).sorted().toList();
    assertThat(epochs).containsExactlyElementsOf(LongStream.rangeClosed(1, 32).boxed().toList());
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
