package io.tidemark.source;

import java.time.Instant;
import org.bson.BsonTimestamp;

/**
 * One look at the oplog: its oldest and newest entries, how full it is (where the server reports
 * it), and the checkpoint it was compared with.
 *
 * @param usage the fraction of the capped oplog in use, or null when the server does not say
 * @param checkpoint the cluster time of the stream's saved checkpoint, or null when there is none
 */
public record OplogSample(Instant at, BsonTimestamp first, BsonTimestamp last, Double usage, BsonTimestamp checkpoint) {

  /** The same look at the oplog, compared with another checkpoint. */
  public OplogSample withCheckpoint(BsonTimestamp checkpoint) {
    return new OplogSample(at, first, last, usage, checkpoint);
  }

  /** Seconds of history the oplog holds. */
  public long windowSeconds() {
    return Math.max(0, (long) last.getTime() - first.getTime());
  }

  /**
   * Oplog seconds between the oldest entry and the checkpoint: how long until the checkpoint falls
   * off, at the rate the oplog is written. Negative: it has. Null without a checkpoint.
   */
  public Long headroomSeconds() {
    return checkpoint == null ? null : (long) checkpoint.getTime() - first.getTime();
  }

  /** A checkpoint at least this often keeps a stopped consumer well inside the window: 10% of it. */
  public long recommendedCheckpointIntervalSeconds() {
    return windowSeconds() / 10;
  }
}
