package io.tidemark.checkpoint;

import io.tidemark.source.ResumePosition;
import java.time.Instant;
import java.util.Objects;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * A saved place in one stream: the resume token of the newest event before which everything is
 * done, with its cluster time. A checkpoint taken before any event (a stream started "now") has
 * no token, only the operation time it started at. A checkpoint during a snapshot (kind
 * {@link CheckpointKind#SNAPSHOT}, or a gap that starts a re-snapshot) holds the snapshot's
 * operation time and the last {@code _id} copied: the copy goes on after it.
 */
public final class Checkpoint {
  private final String stream;
  private final BsonDocument resumeToken;
  private final BsonTimestamp clusterTime;
  private final Instant savedAt;
  private final long epoch;
  private final CheckpointKind kind;
  private final String note;
  private final BsonDocument snapshot;

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
    this(stream, resumeToken, clusterTime, savedAt, epoch, kind, note, null);
  }

  /**
   * @param snapshot a snapshot still to copy: {@code {}} from the first document, or
   *     {@code {_id: <last copied>}}; for a target of many collections also the collection in
   *     progress, {@code {ns: "<db>.<collection>", _id: ...}}; null when no snapshot is in progress
   *     (a checkpoint of kind snapshot without it copies from the first document)
   */
  public Checkpoint(
      String stream, BsonDocument resumeToken, BsonTimestamp clusterTime, Instant savedAt, long epoch,
      CheckpointKind kind, String note, BsonDocument snapshot) {
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
    if ((kind == CheckpointKind.SNAPSHOT || snapshot != null) && (clusterTime == null || resumeToken != null)) {
      throw new IllegalArgumentException("a snapshot checkpoint needs its operation time and no resume token");
    }
    this.snapshot = snapshot;
  }

  /**
   * A snapshot in progress at {@code at}: {@code after} is the last {@code _id} copied (null: none
   * yet). It is saved only when every document before it is done.
   */
  public static Checkpoint snapshot(String stream, BsonTimestamp at, org.bson.BsonValue after, String note) {
    BsonDocument progress = after == null ? new BsonDocument() : new BsonDocument("_id", after);
    return new Checkpoint(stream, null, Objects.requireNonNull(at, "at"), Instant.now(), 0, CheckpointKind.SNAPSHOT, note, progress);
  }

  public static Checkpoint atToken(String stream, BsonDocument token, BsonTimestamp clusterTime) {
    return new Checkpoint(stream, Objects.requireNonNull(token, "token"), clusterTime, Instant.now());
  }

  public static Checkpoint atOperationTime(String stream, BsonTimestamp operationTime) {
    return new Checkpoint(stream, null, Objects.requireNonNull(operationTime, "operationTime"), Instant.now(), 0, CheckpointKind.START, null);
  }

  /** A rewind by hand: to a token ({@code resumeAfter} on the next start) or, without one, to a time. */
  public static Checkpoint rewind(String stream, BsonDocument token, BsonTimestamp time, String note) {
    if (token == null && time == null) throw new IllegalArgumentException("rewind needs a token or a time");
    return new Checkpoint(stream, token, token == null ? time : null, Instant.now(), 0, CheckpointKind.REWIND, note);
  }

  /** A reset by hand: no position; the next run starts at its configured position, or now. */
  public static Checkpoint reset(String stream, String note) {
    return new Checkpoint(stream, null, null, Instant.now(), 0, CheckpointKind.RESET, note);
  }

  /** The same place, written for another reason. */
  public Checkpoint as(CheckpointKind kind, String note) {
    return new Checkpoint(stream, resumeToken, clusterTime, savedAt, epoch, kind, note, snapshot);
  }

  /** The same checkpoint, with its snapshot progress ({@code {}} or {@code {_id: ...}}; null: none). */
  public Checkpoint withSnapshot(BsonDocument progress) {
    return new Checkpoint(stream, resumeToken, clusterTime, savedAt, epoch, kind, note, progress);
  }

  /** The same checkpoint as written by the consumer holding {@code epoch}. */
  public Checkpoint withEpoch(long epoch) {
    return new Checkpoint(stream, resumeToken, clusterTime, savedAt, epoch, kind, note, snapshot);
  }

  /**
   * The snapshot still to copy: {@code {}} from the first document, {@code {_id: ...}} after that
   * document (in collection {@code ns}, when present); null when no snapshot is in progress.
   */
  public BsonDocument snapshot() {
    if (snapshot == null && kind == CheckpointKind.SNAPSHOT) return new BsonDocument();
    return snapshot;
  }

  /** {@link #snapshot()} as extended JSON (which keeps the {@code _id}'s BSON type), or null. */
  public String snapshotJson() {
    return snapshot == null ? null : snapshot.toJson(EXTENDED);
  }

  /** Reads what {@link #snapshotJson()} wrote. */
  public static BsonDocument parseSnapshot(String json) {
    return json == null ? null : BsonDocument.parse(json);
  }

  private static final org.bson.json.JsonWriterSettings EXTENDED =
      org.bson.json.JsonWriterSettings.builder().outputMode(org.bson.json.JsonMode.EXTENDED).build();

  /** Whether a snapshot is in progress at this checkpoint: the next run goes on copying. */
  public boolean inSnapshot() {
    return snapshot() != null;
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
    if (inSnapshot()) return ResumePosition.snapshotFrom(clusterTime, snapshot());
    if (resumeToken == null) return ResumePosition.startAtOperationTime(clusterTime);
    return kind == CheckpointKind.INVALIDATE ? ResumePosition.startAfter(resumeToken) : ResumePosition.resumeAfter(resumeToken);
  }

  @Override
  public boolean equals(Object o) {
    if (this == o) return true;
    if (!(o instanceof Checkpoint other)) return false;
    return stream.equals(other.stream)
        && Objects.equals(resumeToken, other.resumeToken)
        && Objects.equals(clusterTime, other.clusterTime)
        && Objects.equals(snapshot(), other.snapshot());
  }

  @Override
  public int hashCode() {
    return Objects.hash(stream, resumeToken, clusterTime, snapshot());
  }

  @Override
  public String toString() {
    return "Checkpoint(" + stream + " " + kind.label() + " " + (position() == null ? "none" : position().describe()) + ")";
  }
}
