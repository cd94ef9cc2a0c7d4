package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.connection.MongoConnector;
import io.tidemark.testkit.FaultyMongo;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The transactional MongoDB sink, on the embedded server's transactions or, with
 * TIDEMARK_MONGODB_URI naming one, a replica set's (docs/sinks.md says how); and, on the embedded
 * server run as a standalone one, which has none, that the sink says so before the first event.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoTransactionalSinkIT {
  private static final String DB = "sink_it_" + Long.toHexString(System.nanoTime());

  private final FaultyMongo mongo = FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(20, TimeUnit.SECONDS);
  }


  /** The user's write: one document per event in sink_events, in the sink's transaction. */
  private MongoTransactionalSink.Write record() {
    MongoCollection<Document> events = client.getDatabase(DB).getCollection("sink_events");
    return (session, event) -> MongoConnector.first(events.insertOne(session,
        new Document("token", event.resumeToken().getString("_data").getValue()).append("key", event.documentKey().toJson())));
  }

  private long events() throws Exception {
    return await(MongoConnector.first(client.getDatabase(DB).getCollection("sink_events").countDocuments()));
  }

  @Test
  void aServerWithoutTransactionsIsRefusedBeforeTheFirstEvent() {
    assumeTrue(mongo.embedded(), "a standalone server is the kit's: EmbeddedSettings.withReplicaSet(false)");
    try (FaultyMongo standalone = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false).withReplicaSet(false));
        MongoClient standaloneClient = MongoConnector.connect(standalone.uri(), Duration.ofSeconds(10))) {
      assertThat(Await.failureOf(MongoTransactionalSink.create(standaloneClient, DB, "no-transactions")))
          .isInstanceOf(TidemarkException.class)
          .hasMessageContaining("stream 'no-transactions': the transactional MongoDB sink needs multi-document transactions")
          .hasMessageContaining("(a replica set or sharded cluster, MongoDB 4.0+)")
          .hasMessageContaining("use an idempotent write instead");
      assertThat(Await.failureOf(MongoConnector.first(standaloneClient.getDatabase(DB).getCollection(MongoTransactionalSink.EPOCHS)
              .countDocuments())
          .thenAccept(count -> assertThat(count).as("no epoch taken").isZero()))).isNull();
    }
  }

  @Test
  void aReplayedEventIsSkippedAndAnOlderConsumerFenced() throws Exception {
    MongoTransactionalSink sink = await(MongoTransactionalSink.create(client, DB, "replayed"));
    EventHandler handler = sink.handler(record());
    for (long index = 1; index <= 3; index++) await(handler.handle("replayed", Envelopes.event(index, index, "k")));
    for (long index = 2; index <= 4; index++) await(handler.handle("replayed", Envelopes.event(index - 1, index, "k")));
    assertThat(events()).isEqualTo(4);
    assertThat(sink.skipped()).isEqualTo(2);

    MongoTransactionalSink successor = await(MongoTransactionalSink.create(client, DB, "replayed"));
    await(successor.handler(record()).handle("replayed", Envelopes.event(1, 5, "k")));
    ChangeEnvelope late = Envelopes.event(5, 6, "other");
    assertThat(Await.failureOf(handler.handle("replayed", late))).isInstanceOf(FencedException.class)
        .hasMessageContaining("another consumer has taken the stream");
    assertThat(events()).isEqualTo(5);
  }
}
