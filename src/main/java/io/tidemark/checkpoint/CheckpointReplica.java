package io.tidemark.checkpoint;

import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * A fast, in-memory copy of each stream's newest safe checkpoint, replicated across nodes, so a
 * consumer taking over starts from the freshest token even when the durable write was throttled.
 * The durable store stays the source of truth: a replicated checkpoint is used only when it is for
 * the same stream, written under an epoch no older than the durable checkpoint's, and newer than it.
 */
public interface CheckpointReplica {

  /** Publishes the newest safe checkpoint, written by the consumer holding {@code epoch}. */
  void publish(Checkpoint safe, long epoch);

  /** The replicated checkpoint of the stream (its {@code epoch()} is the writer's), if any. */
  CompletionStage<Optional<Checkpoint>> read(String stream);
}
