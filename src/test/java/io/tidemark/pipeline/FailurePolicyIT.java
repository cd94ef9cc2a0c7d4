package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.window.StageFailedException;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.BsonDocument;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** Each failing-stage policy, with its visible effect. */
class FailurePolicyIT extends io.tidemark.PipelineTestBase {
  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoClients.create(mongo.connectionString());
  private final InMemoryCheckpointStore checkpoints = InMemoryCheckpointStore.create();
  private final Map<Integer, AtomicInteger> deliveries = new ConcurrentHashMap<>();
  private final Map<Integer, BsonDocument> tokens = new ConcurrentHashMap<>();

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  private PipelineBuilder<ChangeEnvelope> pipeline(String stream, FailureSettings failure) {
    return Pipeline.named(stream)
        .mongoClient(client)
        .collection("shop", stream)
        .checkpoints(checkpoints)
        .windowSettings(WindowSettings.of(10, 5, Duration.ofMillis(100)))
        .onFailure(failure.withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)));
  }

  private static int id(ChangeEnvelope event) {
    return event.documentKey().getInt32("_id").getValue();
  }

  private ChangeEnvelope record(ChangeEnvelope event) {
    deliveries.computeIfAbsent(id(event), k -> new AtomicInteger()).incrementAndGet();
    tokens.put(id(event), event.resumeToken());
    return event;
  }

  private void insert(String collection, int count) throws Exception {
    MongoCollection<Document> target = client.getDatabase("shop").getCollection(collection);
    for (int i = 0; i < count; i++) MongoConnector.first(target.insertOne(new Document("_id", i))).get(10, TimeUnit.SECONDS);
  }

  @Test
  void retryRestartsFromTheSafeTokenAndReplaysOnlyTheWindow() throws Exception {
    deliveries.clear();
    AtomicInteger failures = new AtomicInteger();
    PipelineControl control = pipeline("retry", FailureSettings.of(FailurePolicy.RETRY))
        .mapAsync(event -> {
          record(event);
          if (id(event) == 20 && failures.incrementAndGet() <= 2) {
            return CompletableFuture.failedFuture(new IllegalStateException("index down"));
          }
          return CompletableFuture.completedFuture(event);
        })
        .run(testKit.system());
    track(control);
    control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
    insert("retry", 50);
    Await.until(Duration.ofSeconds(30), () -> deliveries.size() == 50 && control.stats().window().completed() >= 50,
        () -> "all 50 events processed; have " + deliveries.keySet());
    control.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);

    assertThat(control.stats().restarts()).isEqualTo(2);
    assertThat(deliveries.get(20).get()).isEqualTo(3);
    assertThat(control.stats().window().replayed())
        .as("event 20 twice, and what was admitted after it before each failure: at most the replay bound per restart")
        .isBetween(2L, 2L * WindowSettings.of(10, 5, Duration.ofMillis(100)).replayBound());
    for (int id = 0; id < 50; id++) {
      if (id != 20) assertThat(deliveries.get(id).get()).as("event %d, processed one at a time, is not replayed", id).isEqualTo(1);
    }
    assertThat(checkpoints.get("retry").orElseThrow().resumeToken()).isEqualTo(tokens.get(49));
  }

  @Test
  void deadLetterRecordsTheEventCountsItAndGoesOn() throws Exception {
    deliveries.clear();
    MongoDeadLetterStore deadLetters = MongoDeadLetterStore.create(client, "ops");
    PipelineControl control = pipeline("dead-letter", FailureSettings.of(FailurePolicy.DEAD_LETTER).withDeadLetterAttempts(2, Duration.ofMillis(10)))
        .deadLetters(deadLetters)
        .mapAsync(event -> {
          record(event);
          return id(event) == 7
              ? CompletableFuture.<ChangeEnvelope>failedFuture(new IllegalArgumentException("order 7 has no customer"))
              : CompletableFuture.completedFuture(event);
        })
        .run(testKit.system());
    track(control);
    control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
    insert("dead-letter", 20);
    Await.until(Duration.ofSeconds(30), () -> deliveries.size() == 20 && control.stats().window().completed() >= 20,
        () -> "all 20 events through; have " + deliveries.keySet());
    control.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);

    assertThat(deliveries.get(7).get()).as("tried twice").isEqualTo(2);
    assertThat(control.stats().deadLetters()).isEqualTo(1);
    assertThat(control.stats().restarts()).isZero();
    List<DeadLetter> letters = deadLetters.list("dead-letter", 10).toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(letters).singleElement().satisfies(letter -> {
      assertThat(letter.documentKey()).isEqualTo(BsonDocument.parse("{_id: 7}"));
      assertThat(letter.resumeToken()).isEqualTo(tokens.get(7));
      assertThat(letter.operationType()).isEqualTo("insert");
      assertThat(letter.event().getDocument("fullDocument")).isEqualTo(BsonDocument.parse("{_id: 7}"));
      assertThat(letter.error()).isEqualTo("IllegalArgumentException: order 7 has no customer");
      assertThat(letter.attempts()).isEqualTo(2);
    });
    assertThat(deadLetters.count("dead-letter").toCompletableFuture().get(10, TimeUnit.SECONDS)).isEqualTo(1L);
    assertThat(checkpoints.get("dead-letter").orElseThrow().resumeToken()).isEqualTo(tokens.get(19));
  }

  /** A sink that finds its consumer fenced (another has taken the stream) stops the pipeline under every policy. */
  @Test
  void aFencedStageStopsThePipelineUnderRetryAndDeadLetter() throws Exception {
    for (FailurePolicy policy : new FailurePolicy[] {FailurePolicy.RETRY, FailurePolicy.DEAD_LETTER}) {
      String stream = "fenced-" + policy.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
      MongoDeadLetterStore deadLetters = MongoDeadLetterStore.create(client, "ops");
      PipelineControl control = pipeline(stream, FailureSettings.of(policy).withDeadLetterAttempts(2, Duration.ofMillis(10)))
          .deadLetters(deadLetters)
          .mapAsync(event -> id(event) == 3
              ? CompletableFuture.<ChangeEnvelope>failedFuture(new io.tidemark.checkpoint.FencedException("the sink refused a write: another consumer has taken the stream"))
              : CompletableFuture.completedFuture(event))
          .run(testKit.system());
      track(control);
      control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
      insert(stream, 10);

      assertThatThrownBy(() -> control.completion().toCompletableFuture().get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class).cause()
          .isInstanceOf(io.tidemark.checkpoint.FencedException.class).hasMessageContaining("another consumer has taken the stream");
      assertThat(control.stats().restarts()).as(policy + ": never restarted").isZero();
      assertThat(deadLetters.count(stream).toCompletableFuture().get(10, TimeUnit.SECONDS)).as(policy + ": not a dead letter").isZero();
    }
  }

  @Test
  void stopEndsThePipelineWithTheCheckpointAtTheSafeToken() throws Exception {
    deliveries.clear();
    PipelineControl control = pipeline("stop", FailureSettings.of(FailurePolicy.STOP))
        .mapAsync(event -> {
          record(event);
          return id(event) == 5
              ? CompletableFuture.<ChangeEnvelope>failedFuture(new IllegalStateException("index down"))
              : CompletableFuture.completedFuture(event);
        })
        .run(testKit.system());
    track(control);
    control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
    insert("stop", 10);
    assertThatThrownBy(() -> control.completion().toCompletableFuture().get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class)
        .cause().isInstanceOf(StageFailedException.class).hasMessageContaining("index down");
    assertThat(checkpoints.get("stop").orElseThrow().resumeToken()).isEqualTo(tokens.get(4));
    assertThat(control.stats().restarts()).isZero();
  }
}
