package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.FaultSettings.Oversize;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Faults only the kit can make on demand: events over the size limit (a replica set's is 16 MiB;
 * the kit's is set to 64 KiB here), and a server that is not a replica set.
 */
class KitOnlyFaultsIT extends io.tidemark.PipelineTestBase {
  private static final String DB = "kit";
  private static final int LIMIT = 64 * 1024;

  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false).withMaxEventBytes(LIMIT));

  @AfterAll
  void shutdown() {
    mongo.close();
  }

  private final Map<String, List<ChangeEnvelope>> received = new ConcurrentHashMap<>();

  private PipelineControl start(String stream, String uri, FaultSettings faults, InMemoryCheckpointStore store) throws Exception {
    return start(stream, uri, faults.heartbeat(false, Duration.ofSeconds(10)), store, true);
  }

  private PipelineControl start(String stream, String uri, FaultSettings faults, InMemoryCheckpointStore store, boolean asGiven) {
    List<ChangeEnvelope> into = received.computeIfAbsent(stream, k -> new CopyOnWriteArrayList<>());
    return run(Pipeline.named(stream)
        .mongoUri(uri)
        .collection(DB, stream)
        .checkpoints(store)
        .windowSettings(WindowSettings.of(20, 5, Duration.ofMillis(100)))
        .faults(faults)
        .mapAsync(event -> {
          into.add(event);
          return CompletableFuture.completedFuture(event);
        }));
  }

  /** Events 0..2, then 3 over the limit, then 4..6, in one write: the stream reads them in one batch, which the big one fails. */
  private void insertAroundABigOne(String collection) {
    List<Document> documents = new java.util.ArrayList<>();
    for (int id = 0; id < 7; id++) {
      Document document = new Document("_id", id);
      if (id == 3) document.append("blob", "x".repeat(LIMIT + 1024));
      documents.add(document);
    }
    mongo.database(DB).getCollection(collection).insertMany(documents);
  }

  private List<Integer> ids(String stream) {
    return received.getOrDefault(stream, List.of()).stream().map(e -> e.documentKey().getInt32("_id").getValue()).toList();
  }

  private static Throwable failure(PipelineControl control) throws Exception {
    try {
      control.completion().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    }
    throw new AssertionError("the pipeline completed without an error");
  }

  private static void awaitIds(KitOnlyFaultsIT test, String stream, List<Integer> expected) {
    io.tidemark.Await.until(Duration.ofSeconds(30), () -> test.ids(stream).containsAll(expected),
        () -> "events " + expected + " delivered; have " + test.ids(stream));
  }

  @Test
  void anOversizeEventStopsTheStreamByDefault() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    PipelineControl control = start("oversize-fail", mongo.uri(), FaultSettings.defaults(), store);
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    insertAroundABigOne("oversize-fail");

    assertThat(failure(control))
        .hasMessageContaining("stream 'oversize-fail': an event is over the size limit")
        .hasMessageContaining("10334")
        .hasMessageContaining("on-oversize-event = fail: stopped, checkpoint untouched");
    // The batch that held the big event failed: what came before it in that batch was not delivered, and is not lost.
    List<Integer> delivered = ids("oversize-fail");
    assertThat(List.of(0, 1, 2).subList(0, delivered.size())).isEqualTo(delivered);
    Checkpoint kept = store.get("oversize-fail").orElseThrow();
    if (delivered.isEmpty()) {
      assertThat(kept.kind()).isEqualTo(CheckpointKind.START);
    } else {
      assertThat(kept.resumeToken()).isEqualTo(received.get("oversize-fail").get(delivered.size() - 1).resumeToken());
    }
  }

  @Test
  void skippingAnOversizeEventRecordsItAndGoesOn() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    PipelineControl control = start("oversize-skip", mongo.uri(), FaultSettings.defaults().onOversizeEvent(Oversize.SKIP), store);
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    insertAroundABigOne("oversize-skip");

    awaitIds(this, "oversize-skip", List.of(0, 1, 2, 4, 5, 6));
    assertThat(ids("oversize-skip")).containsExactly(0, 1, 2, 4, 5, 6);
    List<Checkpoint> gaps = store.history("oversize-skip").stream().filter(c -> c.kind() == CheckpointKind.GAP).toList();
    assertThat(gaps).singleElement().satisfies(gap -> {
      assertThat(gap.note()).contains("skipped an event over the size limit").contains("10334").contains("its token {\"_data\": \"82");
      assertThat(gap.position()).as("the gap is recorded where the stream was, before the skipped event").isNotNull();
    });
    assertThat(control.stats().gaps()).isEqualTo(1);
  }

  @Test
  void aQuietStreamsHeartbeatsMovePastASkippedOversizeEvent() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    PipelineControl control = start("oversize-quiet", mongo.uri(),
        FaultSettings.defaults().onOversizeEvent(Oversize.SKIP).heartbeat(true, Duration.ofMillis(200)), store, true);
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    var collection = mongo.database(DB).getCollection("oversize-quiet");
    collection.insertMany(List.of(new Document("_id", 0), new Document("_id", 1), new Document("_id", 2),
        new Document("_id", 3).append("blob", "x".repeat(LIMIT + 1024))));
    awaitIds(this, "oversize-quiet", List.of(0, 1, 2));
    Await.until(Duration.ofSeconds(30), () -> control.stats().gaps() == 1, () -> "the big event skipped");
    org.bson.BsonTimestamp skippedAt = store.history("oversize-quiet").stream()
        .filter(c -> c.kind() == CheckpointKind.GAP).findFirst().orElseThrow().clusterTime();

    // The stream is quiet after the skipped event while other collections are written.
    Await.until(Duration.ofSeconds(30), () -> {
      mongo.database(DB).getCollection("elsewhere").insertOne(new Document());
      Checkpoint saved = store.get("oversize-quiet").orElseThrow();
      return saved.kind() == CheckpointKind.HEARTBEAT && saved.clusterTime().compareTo(skippedAt) > 0;
    }, () -> "a heartbeat checkpoint past the skipped event; have " + store.get("oversize-quiet"));
  }

  @Test
  void splittingAnOversizeEventDeliversItWhole() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    PipelineControl control = start("oversize-split", mongo.uri(), FaultSettings.defaults().onOversizeEvent(Oversize.SPLIT), store);
    control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    insertAroundABigOne("oversize-split");

    awaitIds(this, "oversize-split", List.of(0, 1, 2, 3, 4, 5, 6));
    assertThat(ids("oversize-split")).containsExactly(0, 1, 2, 3, 4, 5, 6);
    ChangeEnvelope big = received.get("oversize-split").get(3);
    assertThat(big.eventDocument().getDocument("fullDocument").getString("blob").getValue()).hasSize(LIMIT + 1024);
    assertThat(big.eventDocument().containsKey("splitEvent")).isFalse();
    assertThat(control.stats().gaps()).isZero();
  }

  @Test
  void aServerThatIsNotAReplicaSetIsAClearStartUpError() throws Exception {
    try (FaultyMongo standalone = FaultyMongo.embedded(EmbeddedSettings.defaults().withReplicaSet(false))) {
      PipelineControl control = start("standalone", standalone.uri(), FaultSettings.defaults(), InMemoryCheckpointStore.create());
      assertThat(failure(control))
          .hasMessageContaining("stream 'standalone': the server is not a replica set")
          .hasMessageContaining("40573")
          .hasMessageContaining("--replSet");
    }
  }
}
