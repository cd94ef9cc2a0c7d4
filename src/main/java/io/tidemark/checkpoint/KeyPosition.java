package io.tidemark.checkpoint;

import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.BsonOrder;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;

/**
 * Where the newest event of one documentKey that a Kafka transaction committed lies in the stream:
 * its cluster time, then its resume token's {@code _data} (a server's tokens sort in stream order as
 * strings; several events of one transaction share a cluster time). A document copied by a
 * snapshot has no token (it sorts before the events of its cluster time, the snapshot's time) and
 * keeps its {@code _id}, which places it in the copy.
 *
 * <p>(The JDBC sink keeps the same order in {@code io.tidemark.sink.EventPosition}; this one adds
 * the copy's {@code _id}, which the Kafka checkpoint needs to drop positions a resumed copy never
 * reaches again.)
 */
record KeyPosition(long clusterTime, String token, BsonValue snapshotId, String snapshotNamespace) implements Comparable<KeyPosition> {
  private static final org.bson.json.JsonWriterSettings CANONICAL =
      org.bson.json.JsonWriterSettings.builder().outputMode(org.bson.json.JsonMode.EXTENDED).build();

  static KeyPosition of(ChangeEnvelope event) {
    BsonTimestamp time = event.clusterTime();
    BsonDocument token = event.resumeToken();
    BsonDocument progress = event.isSnapshot() ? event.snapshotProgress() : null;
    return new KeyPosition(
        time == null ? 0L : time.getValue(),
        token != null && token.isString("_data") ? token.getString("_data").getValue() : "",
        progress == null ? null : progress.containsKey("_id") ? progress.get("_id")
            : event.documentKey() == null ? null : event.documentKey().get("_id"), // a chunked copy's progress has no one _id
        progress == null ? null : progress.isString("ns") ? progress.getString("ns").getValue()
            : progress.isArray("collections") ? event.namespace() : null); // a copy of many collections at once: the document's own
  }

  /** The key positions are kept by: the documentKey as canonical extended JSON ("" for an event without one). */
  static String keyOf(ChangeEnvelope event) {
    BsonDocument key = event.documentKey();
    return key == null ? "" : key.toJson(CANONICAL);
  }

  @Override
  public int compareTo(KeyPosition other) {
    int byTime = Long.compareUnsigned(clusterTime, other.clusterTime);
    return byTime != 0 ? byTime : token.compareTo(other.token);
  }

  /**
   * Whether a run that resumes at {@code checkpoint} can never meet this key's event again, so that
   * the position need not be kept: it lies before the checkpoint (one at the checkpoint itself is
   * kept, which costs nothing), or it is a copied document at or before the last {@code _id} a
   * snapshot checkpoint says is done (in a copy of many collections: of a collection before the
   * checkpoint's, or of the same one at or before its {@code _id}).
   */
  boolean passedBy(Checkpoint checkpoint) {
    if (checkpoint == null || checkpoint.clusterTime() == null) return false;
    long at = checkpoint.clusterTime().getValue();
    int byTime = Long.compareUnsigned(clusterTime, at);
    if (byTime != 0) return byTime < 0;
    if (checkpoint.inSnapshot()) {
      // A copy of many collections goes in namespace order: one done before the checkpoint's is passed.
      BsonDocument progress = checkpoint.snapshot();
      if (progress.isArray("collections")) {
        // A copy of many collections at once: passed when the collection is done, or the chunk that holds the _id is done up to it.
        if (snapshotNamespace == null || snapshotId == null) return false;
        var position = (io.tidemark.source.ResumePosition.Snapshot) io.tidemark.source.ResumePosition.snapshotFrom(checkpoint.clusterTime(), progress);
        return !position.remaining(snapshotNamespace, snapshotId);
      }
      String inProgress = progress.isString("ns") ? progress.getString("ns").getValue() : null;
      if (snapshotNamespace != null && inProgress != null && !snapshotNamespace.equals(inProgress)) {
        return snapshotNamespace.compareTo(inProgress) < 0;
      }
      if (progress.isArray("chunks")) {
        // A chunked copy: passed when the chunk that holds the _id is done, or done up to it.
        if (snapshotId == null) return false;
        for (BsonValue value : progress.getArray("chunks")) {
          io.tidemark.source.ResumePosition.Chunk chunk = io.tidemark.source.ResumePosition.Chunk.fromDocument(value.asDocument());
          if (chunk.holds(snapshotId)) return !chunk.remaining(snapshotId) && (chunk.done() || chunk.after() != null);
        }
        return false;
      }
      BsonValue lastCopied = progress.get("_id");
      return snapshotId != null && lastCopied != null && BsonOrder.compare(snapshotId, lastCopied) <= 0;
    }
    String atToken = checkpoint.resumeToken() != null && checkpoint.resumeToken().isString("_data")
        ? checkpoint.resumeToken().getString("_data").getValue() : "";
    return token.compareTo(atToken) < 0;
  }
}
