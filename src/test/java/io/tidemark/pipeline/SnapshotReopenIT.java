package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.MongoCollection;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.testkit.FailCommand;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.Document;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A copy whose read fails (a dropped connection) while documents it already read are still on their
 * way is reopened in the same run after the last document that left the source: every document is
 * delivered exactly once, with one cursor and with chunks (the copy hands its documents on in
 * batches through its sources and takes each one only as it leaves).
 */
class SnapshotReopenIT {
  private static final int DOCUMENTS = 2_000;
  private static final int HELD_AT = 500;

  @ParameterizedTest(name = "parallelism {0}")
  @ValueSource(ints = {1, 4})
  void aReadFailingMidCopyIsReopenedAfterTheLastDocumentThatLeftTheSource(int parallelism) throws Exception {
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "snapshot-reopen-" + parallelism);
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      MongoCollection<Document> collection = mongo.database("reopen").getCollection("c" + parallelism);
      List<Document> documents = new ArrayList<>();
      for (int id = 0; id < DOCUMENTS; id++) documents.add(new Document("_id", id).append("pad", "x".repeat(20)));
      collection.insertMany(documents);

      Map<Integer, AtomicInteger> copies = new ConcurrentHashMap<>();
      AtomicInteger seen = new AtomicInteger();
      CompletableFuture<Void> held = new CompletableFuture<>();
      CompletableFuture<Void> release = new CompletableFuture<>();
      PipelineControl control = Pipeline.named("reopen-" + parallelism)
          .mongoUri(mongo.uri())
          .collection("reopen", "c" + parallelism)
          .checkpoints(InMemoryCheckpointStore.create())
          .windowSettings(WindowSettings.of(200, 100, Duration.ofMillis(200)))
          .sourceSettings(SourceSettings.create(ConfigFactory.load()).withRestartBackoff(Duration.ofMillis(50), Duration.ofMillis(200)))
          .faults(FaultSettings.defaults().heartbeat(false, Duration.ofSeconds(10)))
          .startup(StartupMode.SNAPSHOT_ONLY)
          .snapshotSettings(SnapshotSettings.defaults().withBatchSize(100).withParallelism(parallelism).withChunkSize(250)
              .withProgressInterval(Duration.ofSeconds(1)))
          .mapAsync((ChangeEnvelope event) -> {
            copies.computeIfAbsent(event.documentKey().getInt32("_id").getValue(), id -> new AtomicInteger()).incrementAndGet();
            if (seen.incrementAndGet() != HELD_AT) return CompletableFuture.completedFuture(event);
            // Held here while the source runs ahead, read documents queue in it; the next read then fails.
            held.complete(null);
            return release.thenApply(ignored -> event);
          })
          .run(system);
      held.get(30, TimeUnit.SECONDS);
      long errorsBefore = errors(control);
      // Every read fails for a while: the driver retries a read once by itself, so only a read failing twice reaches the
      // copy, which fails and reopens (and fails again) until the reads go through; with C = 4 up to 4 reads are in flight.
      mongo.failCommand(FailCommand.on("find").closeConnection());
      release.complete(null);
      Await.until(Duration.ofSeconds(30), () -> errors(control) >= errorsBefore + 10,
          () -> "the dropped connections seen; failed commands " + control.stats().errors());
      mongo.failPointsOff();

      control.completion().toCompletableFuture().get(60, TimeUnit.SECONDS);
      assertThat(copies).as("every document copied").hasSize(DOCUMENTS);
      assertThat(copies.values()).as("each once: the reopened copy went on after the last document that left the source")
          .allMatch(n -> n.get() == 1);
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static long errors(PipelineControl control) {
    return control.stats().errors().values().stream().mapToLong(Long::longValue).sum();
  }
}
