package io.tidemark.checkpoint;

import io.tidemark.source.ResumePosition;
import java.time.Instant;
import java.util.Objects;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * A saved place in one stream: the resume token of the newest event before which everything is
 * done, with its cluster time. A checkpoint taken before any event (a stream started "now") has
 * no token, only the operation time it started at.
 */
public final class Checkpoint {
  private final String stream;
  private final BsonDocument resumeToken;
  private final BsonTimestamp clusterTime;
  private final Instant savedAt;
  private final long epoch;
  private final CheckpointKind kind;
  private final String note;

  public Checkpoint(String stream, BsonDocument resumeToken, BsonTimestamp clusterTime, Instant savedAt) {
    this(stream, resumeToken, clusterTime, savedAt, 0, CheckpointKind.EVENT, null);
  }

  public Checkpoint(String stream, BsonDocument resumeToken, BsonTimestamp clusterTime, Instant savedAt, long epoch) {
    this(stream, resumeToken, clusterTime, savedAt, epoch, CheckpointKind.EVENT, null);
  }

  /**
   * @param epoch the fencing epoch of the consumer that wrote it; 0 before it is saved
   * @param kind why it was written
   * @param note what a gap skipped, or who rewound; null otherwise
   */
  public Checkpoint(
      String stream, BsonDocument resumeToken, BsonTimestamp clusterTime, Instant savedAt, long epoch,
      CheckpointKind kind, String note) {
    this.stream = Objects.requireNonNull(stream, "stream");
    if (resumeToken == null && clusterTime == null && kind != CheckpointKind.RESET) {
      throw new IllegalArgumentException("a checkpoint needs a resume token or an operation time");
    }
    this.resumeToken = resumeToken;
    this.clusterTime = clusterTime;
    this.savedAt = Objects.requireNonNull(savedAt, "savedAt");
    this.epoch = epoch;
    this.kind = Objects.requireNonNull(kind, "kind");
    this.note = note;
  }

  public static Checkpoint atToken(String stream, BsonDocument token, BsonTimestamp clusterTime) {
    return new Checkpoint(stream, Objects.requireNonNull(token, "token"), clusterTime, Instant.now());
  }

  public static Checkpoint atOperationTime(String stream, BsonTimestamp operationTime) {
    return new Checkpoint(stream, null, Objects.requireNonNull(operationTime, "operationTime"), Instant.now(), 0, CheckpointKind.START, null);
  }

  /** The same place, written for another reason. */
  public Checkpoint as(CheckpointKind kind, String note) {
    return new Checkpoint(stream, resumeToken, clusterTime, savedAt, epoch, kind, note);
  }

  public String stream() {
    return stream;
  }

  /** Null for a checkpoint taken at an operation time, before any event. */
  public BsonDocument resumeToken() {
    return resumeToken;
  }

  public BsonTimestamp clusterTime() {
    return clusterTime;
  }

  public Instant savedAt() {
    return savedAt;
  }

  /** The fencing epoch of the consumer that wrote this checkpoint (0 when not known). */
  public long epoch() {
    return epoch;
  }

  public CheckpointKind kind() {
    return kind;
  }

  /** What a gap skipped, or why the checkpoint was rewound; null otherwise. */
  public String note() {
    return note;
  }

  /** Whether this checkpoint lies before {@code other} in the stream (by cluster time). */
  public boolean isBefore(Checkpoint other) {
    return clusterTime != null && other.clusterTime != null && clusterTime.compareTo(other.clusterTime) < 0;
  }

  /**
   * Where the stream continues from this checkpoint (after an invalidate: only with startAfter);
   * null for a reset in the history, which cleared the position.
   */
  public ResumePosition position() {
    if (resumeToken == null && clusterTime == null) return null;
    if (resumeToken == null) return ResumePosition.startAtOperationTime(clusterTime);
    return kind == CheckpointKind.INVALIDATE ? ResumePosition.startAfter(resumeToken) : ResumePosition.resumeAfter(resumeToken);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) return true;
    if (!(o instanceof Checkpoint other)) return false;
    return stream.equals(other.stream)
        && Objects.equals(resumeToken, other.resumeToken)
        && Objects.equals(clusterTime, other.clusterTime);
  }

  @Override
  public int hashCode() {
    return Objects.hash(stream, resumeToken, clusterTime);
  }

  @Override
  public String toString() {
    return "Checkpoint(" + stream + " " + kind.label() + " " + (position() == null ? "none" : position().describe()) + ")";
  }
}
