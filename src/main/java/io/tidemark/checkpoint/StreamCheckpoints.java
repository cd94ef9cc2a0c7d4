package io.tidemark.checkpoint;

import akka.Done;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * The checkpoint record of one stream, open for one pipeline run. Failures are
 * {@link CheckpointStoreUnavailableException} when retrying may help, and
 * {@link CorruptCheckpointException} when the stored value cannot be used.
 */
public interface StreamCheckpoints {

  String stream();

  CompletionStage<Optional<Checkpoint>> load();

  /** Completes once the checkpoint is durable. */
  CompletionStage<Done> save(Checkpoint checkpoint);

  /** Releases the record; no save may follow. */
  CompletionStage<Done> close();
}
