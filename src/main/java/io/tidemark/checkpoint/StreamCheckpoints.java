package io.tidemark.checkpoint;

import akka.Done;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The checkpoint record of one stream, open for one pipeline run. Failures are
 * {@link CheckpointStoreUnavailableException} when retrying may help,
 * {@link CorruptCheckpointException} when the stored value cannot be used, and
 * {@link FencedException} when a newer consumer has taken the stream.
 *
 * <p>Fencing: a consumer starts with {@link #acquire()}, which takes the stream's next epoch
 * atomically; every {@link #save} carries that epoch, and the store refuses a save with an epoch
 * older than the newest taken, and a save that would move the checkpoint backwards.
 */
public interface StreamCheckpoints {

  String stream();

  /** Takes epoch e + 1 for this consumer, atomically, and returns it with the stored checkpoint. */
  CompletionStage<Acquired> acquire();

  /** The stored checkpoint, without taking an epoch (for reading only). */
  CompletionStage<Optional<Checkpoint>> load();

  /**
   * The stream's checkpoint history, oldest first: the newest routine checkpoints (events,
   * heartbeats) and, kept apart so that they do not scroll away, the notable ones (gaps,
   * invalidates, starts, rewinds, resets: a reset has no position). Entries whose token does not parse are left out.
   */
  CompletionStage<List<Checkpoint>> history();

  /** Completes once the checkpoint is durable; fails with {@link FencedException} for an older epoch. */
  CompletionStage<Done> save(Checkpoint checkpoint, long epoch);

  /** Releases the record; no save may follow. */
  CompletionStage<Done> close();
}
