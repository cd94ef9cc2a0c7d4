package io.tidemark.checkpoint;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * A checkpoint store seen from outside a consumer, for people and scripts: which streams it holds,
 * each stream's checkpoint, holder and history; and the few writes a person may make by hand —
 * rewind (to a time or a token) and reset — each refused while a consumer holds the stream, unless
 * forced, and each under a new fencing epoch so that no earlier consumer can write after it.
 * Blocking: for the command line. {@link JdbcCheckpointAdmin} and {@link MongoCheckpointAdmin}.
 */
public interface CheckpointAdmin {

  /** What the store says about one stream. {@code holder}: the epoch of the consumer holding it, 0 when none. */
  record StreamState(
      String stream, Optional<Checkpoint> checkpoint, String corruption, long epoch, long holder, Instant heldSince, long saves,
      List<Checkpoint> history) {}

  /** Checks that the store is reachable and has checkpoints; fails with a clear message otherwise. */
  void ready();

  /** The names of the streams with a checkpoint record, sorted. */
  List<String> streams();

  /** One stream's record; fails with the known streams named when there is none. */
  StreamState state(String stream);

  /**
   * Sets the stream's checkpoint to a time ({@code startAtOperationTime} on the next start) or a
   * token ({@code resumeAfter}); refused while a consumer holds the stream unless {@code force}.
   */
  StreamState rewind(String stream, BsonDocument token, BsonTimestamp time, String note, boolean force);

  /** Clears the stream's checkpoint: the next run starts at its configured position, or now. */
  StreamState reset(String stream, String note, boolean force);
}
