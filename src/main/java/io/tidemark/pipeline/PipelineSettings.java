package io.tidemark.pipeline;

import akka.actor.typed.ActorSystem;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoSettings;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.OplogSettings;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.window.WindowSettings;

/**
 * A pipeline's settings once it runs: what the builder set, else the actor system's configuration
 * ({@code tidemark.*}, checked once per system). Refuses a combination the pipeline cannot honour,
 * naming the setting.
 */
record PipelineSettings(
    MongoSettings mongo, WindowSettings window, SourceSettings source, FailureSettings failure, FaultSettings faults,
    SnapshotSettings snapshots, OplogSettings oplog, int parallelism) {

  static PipelineSettings resolve(PipelineSpec spec, ActorSystem<?> system) {
    if (spec.target == null) {
      throw new TidemarkException(
          "pipeline '" + spec.stream + "': nothing to watch: call collection(database, collection), database(database) or deployment()");
    }
    if (spec.checkpoints == null) {
      throw new TidemarkException(
          "pipeline '" + spec.stream + "': no checkpoint store: call checkpoints(JdbcCheckpointStore.create(system))"
              + " or checkpoints(InMemoryCheckpointStore.create())");
    }
    ConfigCheck.validatedOnce(system);
    FailureSettings failure = spec.failureSettings != null ? spec.failureSettings : FailureSettings.create(system);
    FaultSettings faults = spec.faultSettings != null ? spec.faultSettings : FaultSettings.create(system);
    SnapshotSettings configured = spec.snapshotSettings != null ? spec.snapshotSettings : SnapshotSettings.create(system);
    SnapshotSettings snapshots = spec.startup != null ? configured.withMode(spec.startup) : configured;
    PipelineSettings settings = new PipelineSettings(
        MongoSettings.create(system),
        spec.windowSettings != null ? spec.windowSettings : WindowSettings.create(system),
        spec.sourceSettings != null ? spec.sourceSettings : SourceSettings.create(system),
        failure, faults, snapshots, OplogSettings.create(system),
        spec.parallelism != null ? spec.parallelism : ConfigCheck.positiveInt(system.settings().config(), "tidemark.pipeline.parallelism"));
    settings.check(spec);
    return settings;
  }

  private void check(PipelineSpec spec) {
    if (failure.policy == FailurePolicy.DEAD_LETTER && spec.deadLetters == null) {
      throw new TidemarkException("pipeline '" + spec.stream + "': the dead-letter policy needs a store:"
          + " call deadLetters(MongoDeadLetterStore.create(client, database))");
    }
    if (snapshots.mode.snapshots() && spec.configuredStart != null) {
      throw new TidemarkException("pipeline '" + spec.stream + "': startup " + snapshots.mode.label() + " starts at the snapshot's own"
          + " time, so it cannot also start at " + spec.configuredStart.describe() + ": drop one of them");
    }
  }

  boolean snapshotOnly() {
    return snapshots.mode == StartupMode.SNAPSHOT_ONLY;
  }
}
