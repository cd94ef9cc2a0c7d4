package io.tidemark.pipeline;

import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import io.tidemark.ConfigCheck;
import io.tidemark.checkpoint.CheckpointReplica;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.StreamElement;
import io.tidemark.window.SafeTokenWindow;
import io.tidemark.window.WindowStats;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * Publishes a run's safe position to the checkpoint replica whenever it has moved, every
 * {@code replica-interval}, with its kind (an invalidate must be resumed with startAfter) and the
 * run's epoch: only positions with a token, and none while a gap or a snapshot's end waits to be
 * saved as itself before it.
 */
final class ReplicaPublisher {
  private ReplicaPublisher() {}

  static Cancellable start(
      ActorSystem<?> system, CheckpointReplica replica, String stream, WindowStats stats, CompletableFuture<Lease> lease) {
    Duration interval = ConfigCheck.positiveDuration(system.settings().config(), "tidemark.pipeline.checkpoint.replica-interval");
    StreamElement[] published = {null};
    return system.scheduler().scheduleAtFixedRate(interval, interval, () -> {
      StreamElement safe = stats.replicable();
      Lease taken = lease.getNow(null);
      if (safe == null || taken == null || safe == published[0]) return;
      published[0] = safe;
      Checkpoint checkpoint = SafeTokenWindow.checkpointAt(stream, safe);
      if (checkpoint.resumeToken() != null) replica.publish(checkpoint, taken.epoch());
    }, system.executionContext());
  }
}
