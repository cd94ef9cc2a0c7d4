package io.tidemark.checkpoint;

import java.util.Optional;

/**
 * A consumer's claim on a stream: the fencing epoch it took (every write it makes carries it) and
 * the checkpoint stored when it took it — or, when the stored value cannot be used, why.
 */
public record Acquired(long epoch, Optional<Checkpoint> checkpoint, CorruptCheckpointException corruption) {

  public Acquired(long epoch, Optional<Checkpoint> checkpoint) {
    this(epoch, checkpoint, null);
  }
}
