package io.tidemark.checkpoint;

import java.util.Optional;

/**
 * A consumer's claim on a stream: the fencing epoch it took (every write it makes carries it) and
 * the checkpoint stored when it took it.
 */
public record Acquired(long epoch, Optional<Checkpoint> checkpoint) {}
