package io.tidemark.checkpoint;

import io.tidemark.Errors;
import java.time.Instant;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * A checkpoint as one extended-JSON document (token, cluster time, when, the writer's epoch, kind,
 * note, snapshot progress), as the stores that keep it as text hold it: {@link RedisCheckpointStore}
 * and {@link SqlCheckpointStore}; its fields are read the same way from a MongoDB document
 * ({@link MongoCheckpointStore}) and a Kafka record ({@link KafkaCheckpointRecord}). Extended JSON keeps the BSON types of the token, the timestamp and
 * a copied {@code _id}.
 */
final class CheckpointJson {
  private CheckpointJson() {}

  private static final JsonWriterSettings EXTENDED = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

  static String encode(Checkpoint checkpoint) {
    BsonDocument fields = new BsonDocument();
    fields.put("token", checkpoint.resumeToken() == null ? BsonNull.VALUE : checkpoint.resumeToken());
    fields.put("clusterTime", checkpoint.clusterTime() == null ? BsonNull.VALUE : checkpoint.clusterTime());
    fields.put("savedAt", new BsonDateTime(checkpoint.savedAt().toEpochMilli()));
    fields.put("savedEpoch", new BsonInt64(checkpoint.epoch()));
    fields.put("kind", new BsonString(checkpoint.kind().label()));
    fields.put("note", checkpoint.note() == null ? BsonNull.VALUE : new BsonString(checkpoint.note()));
    fields.put("snapshot", checkpoint.snapshot() == null ? BsonNull.VALUE : checkpoint.snapshot());
    return fields.toJson(EXTENDED);
  }

  /** The stream's current checkpoint; empty when it has none (new, or reset). */
  static java.util.Optional<Checkpoint> decodeCurrent(String stream, String stored, String location) {
    if (stored == null) return java.util.Optional.empty();
    Checkpoint checkpoint = decode(stream, stored, location);
    return checkpoint.position() == null ? java.util.Optional.empty() : java.util.Optional.of(checkpoint);
  }

  /** One checkpoint; {@link CorruptCheckpointException} naming the stream, the value and {@code location} when it cannot be used. */
  static Checkpoint decode(String stream, String stored, String location) {
    BsonDocument document;
    try {
      document = BsonDocument.parse(stored);
    } catch (RuntimeException e) {
      throw new CorruptCheckpointException(stream, stored, "in " + location + " is not valid JSON: " + Errors.oneLine(e.getMessage()));
    }
    return fromDocument(stream, document, location);
  }

  /**
   * One checkpoint from its fields, as every store that is not event-sourced keeps them (a JSON
   * text, a MongoDB document, a Kafka record's value); {@link CorruptCheckpointException} naming the
   * stream, the value and {@code where} when a field cannot be used.
   */
  static Checkpoint fromDocument(String stream, BsonDocument document, String where) {
    BsonValue token = document.get("token");
    if (token != null && !token.isNull() && !(token.isDocument() && token.asDocument().isString("_data"))) {
      throw new CorruptCheckpointException(stream, String.valueOf(token), "in " + where + " is not a resume token");
    }
    BsonValue clusterTime = document.get("clusterTime");
    if (clusterTime != null && !clusterTime.isNull() && !clusterTime.isTimestamp()) {
      throw new CorruptCheckpointException(stream, String.valueOf(clusterTime), "in " + where + " has a clusterTime that is not a timestamp");
    }
    BsonValue snapshot = document.get("snapshot");
    if (snapshot != null && !snapshot.isNull() && !snapshot.isDocument()) {
      throw new CorruptCheckpointException(stream, String.valueOf(snapshot), "in " + where + " has snapshot progress that is not a document");
    }
    CheckpointKind kind;
    try {
      kind = CheckpointKind.parse(document.isString("kind") ? document.getString("kind").getValue() : null);
    } catch (IllegalArgumentException unknown) {
      throw new CorruptCheckpointException(stream, String.valueOf(document.get("kind")), "in " + where + " is not a checkpoint kind");
    }
    try {
      return new Checkpoint(
          stream,
          token == null || token.isNull() ? null : token.asDocument(),
          clusterTime == null || clusterTime.isNull() ? null : clusterTime.asTimestamp(),
          document.isDateTime("savedAt") ? Instant.ofEpochMilli(document.getDateTime("savedAt").getValue()) : Instant.EPOCH,
          document.isNumber("savedEpoch") ? document.getNumber("savedEpoch").longValue() : 0,
          kind,
          document.isString("note") ? document.getString("note").getValue() : null,
          snapshot == null || snapshot.isNull() ? null : snapshot.asDocument());
    } catch (IllegalArgumentException incomplete) {
      throw new CorruptCheckpointException(stream, document.toJson(), "in " + where + " is incomplete: " + Errors.oneLine(incomplete.getMessage()));
    }
  }

  /** Whether a checkpoint is routine (events, heartbeats, snapshot progress) in the history, or notable (apart, so it does not scroll away). */
  static boolean routine(Checkpoint checkpoint) {
    CheckpointKind kind = checkpoint.kind();
    return kind == CheckpointKind.EVENT || kind == CheckpointKind.HEARTBEAT || kind == CheckpointKind.SNAPSHOT;
  }
}
