package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.Pipeline;
import java.time.Duration;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The startup settings from config, and the snapshot set-ups a pipeline refuses before it connects. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SnapshotSettingsTest {
  private final ActorTestKit testKit = ActorTestKit.create("snapshot-settings");

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void readsTheStartupBlock() {
    SnapshotSettings settings = SnapshotSettings.create(ConfigFactory.parseString(
            "tidemark.pipeline.startup { mode = snapshot-then-stream, snapshot { batch-size = 250, progress-interval = 2s } }")
        .withFallback(ConfigFactory.load()));
    assertThat(settings.mode).isEqualTo(StartupMode.SNAPSHOT_THEN_STREAM);
    assertThat(settings.batchSize).isEqualTo(250);
    assertThat(settings.progressInterval).isEqualTo(Duration.ofSeconds(2));
    assertThat(SnapshotSettings.create(ConfigFactory.load()).mode).as("the default").isEqualTo(StartupMode.STREAM_ONLY);
  }

  @Test
  void readsTheChunkedCopysParallelismAndChunkSizeAndRefusesZero() {
    SnapshotSettings settings = SnapshotSettings.create(ConfigFactory.parseString(
            "tidemark.pipeline.startup.snapshot { parallelism = 4, chunk-size = 25000 }").withFallback(ConfigFactory.load()));
    assertThat(settings.parallelism).isEqualTo(4);
    assertThat(settings.chunkSize).isEqualTo(25_000);
    assertThat(SnapshotSettings.create(ConfigFactory.load()).parallelism).as("the default: one cursor").isEqualTo(1);
    assertThatThrownBy(() -> SnapshotSettings.create(
            ConfigFactory.parseString("tidemark.pipeline.startup.snapshot.parallelism = 0").withFallback(ConfigFactory.load())))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("tidemark.pipeline.startup.snapshot.parallelism");
  }

  @Test
  void aWrongModeNamesTheKeyAndTheChoices() {
    assertThatThrownBy(() -> SnapshotSettings.create(
            ConfigFactory.parseString("tidemark.pipeline.startup.mode = snapshot").withFallback(ConfigFactory.load())))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("tidemark.pipeline.startup.mode = \"snapshot\"")
        .hasMessageContaining("stream-only, snapshot-then-stream or snapshot-only");
    assertThatThrownBy(() -> FaultSettings.create(
            ConfigFactory.parseString("tidemark.pipeline.faults.on-history-lost = resnapshot").withFallback(ConfigFactory.load())))
        .hasMessageContaining("tidemark.pipeline.faults.on-history-lost").hasMessageContaining("re-snapshot");
    assertThat(FaultSettings.create(ConfigFactory.parseString("tidemark.pipeline.faults.on-history-lost = re-snapshot")
            .withFallback(ConfigFactory.load())).onHistoryLost)
        .isEqualTo(FaultSettings.Restart.RE_SNAPSHOT);
  }

  /** What a snapshot of many collections copies is what the namespace filter keeps: set before the stages, after the target. */
  @Test
  void theNamespacesToCopyAreNarrowedBeforeTheStagesAndAfterTheTarget() {
    assertThatThrownBy(() -> Pipeline.named("late").database("shop").map(event -> event).namespaces(ns -> true))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("namespaces(...) narrows what is watched: call it before the stages");
    assertThatThrownBy(() -> Pipeline.named("early").namespaces(ns -> true))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("namespaces(...) needs what to watch first");
  }

  @Test
  void aSnapshotCannotAlsoStartAtAGivenTime() {
    var builder = Pipeline.named("both").mongoUri("mongodb://127.0.0.1:1").collection("shop", "orders")
        .checkpoints(InMemoryCheckpointStore.create())
        .startAtOperationTime(new BsonTimestamp(5, 1))
        .startup(StartupMode.SNAPSHOT_ONLY);
    assertThatThrownBy(() -> builder.run(testKit.system()))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("startup snapshot-only starts at the snapshot's own time");
  }
}
