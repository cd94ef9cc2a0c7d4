package io.tidemark.checkpoint;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bson.BsonArray;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * One record of the checkpoint topic: a stream's state as of the Kafka transaction that wrote it.
 * The key is the stream's name; the value is a JSON document (canonical extended JSON, so a person
 * can read it with any console consumer) holding
 * <ul>
 *   <li>{@code epoch}: the newest fencing epoch taken for the stream;
 *   <li>{@code checkpoint}: where the stream resumes (the safe token, or a start, gap, snapshot...);
 *   <li>{@code positions}: for every documentKey whose newest committed record lies past that
 *       checkpoint, where that record's event lies ({@link KeyPosition}); a replayed event at or
 *       before its key's position is already in Kafka and is not written again;
 *   <li>{@code history} and {@code notable}: the newest routine and notable checkpoints, capped.
 * </ul>
 * A value that cannot be read keeps its text in {@code corrupt}, and a checkpoint that cannot be
 * used is kept as it was stored, so that nothing overwrites what a person must look at.
 */
final class KafkaCheckpointRecord {
  private static final JsonWriterSettings CANONICAL = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

  final String stream;
  final long epoch;
  /** Null when the stream has none (new, reset) or when the stored one cannot be used. */
  final Checkpoint checkpoint;
  /** The checkpoint as it was stored, when it could not be read: written back unchanged. */
  final BsonValue unreadableCheckpoint;
  final CorruptCheckpointException corruption;
  final Map<String, KeyPosition> positions;
  final List<Checkpoint> routine;
  final List<Checkpoint> notable;

  private KafkaCheckpointRecord(
      String stream, long epoch, Checkpoint checkpoint, BsonValue unreadableCheckpoint, CorruptCheckpointException corruption,
      Map<String, KeyPosition> positions, List<Checkpoint> routine, List<Checkpoint> notable) {
    this.stream = stream;
    this.epoch = epoch;
    this.checkpoint = checkpoint;
    this.unreadableCheckpoint = unreadableCheckpoint;
    this.corruption = corruption;
    this.positions = positions;
    this.routine = routine;
    this.notable = notable;
  }

  /** A stream nothing was ever written for. */
  static KafkaCheckpointRecord none(String stream) {
    return new KafkaCheckpointRecord(stream, 0, null, null, null, Map.of(), List.of(), List.of());
  }

  /** The same state under another epoch (what {@code acquire} writes). */
  KafkaCheckpointRecord withEpoch(long newEpoch) {
    return new KafkaCheckpointRecord(stream, newEpoch, checkpoint, unreadableCheckpoint, corruption, positions, routine, notable);
  }

  /**
   * The state after a transaction: {@code saved} (null: unchanged) becomes the checkpoint and joins
   * the history, capped at {@code historySize} entries of each kind; {@code keys} are the positions.
   */
  KafkaCheckpointRecord next(Checkpoint saved, Map<String, KeyPosition> keys, int historySize) {
    if (saved == null) {
      return new KafkaCheckpointRecord(stream, epoch, checkpoint, unreadableCheckpoint, corruption, keys, routine, notable);
    }
    boolean isRoutine = saved.kind() == CheckpointKind.EVENT || saved.kind() == CheckpointKind.HEARTBEAT;
    List<Checkpoint> nextRoutine = isRoutine ? capped(routine, saved, historySize) : routine;
    List<Checkpoint> nextNotable = isRoutine ? notable : capped(notable, saved, historySize);
    return new KafkaCheckpointRecord(stream, epoch, saved, null, null, keys, nextRoutine, nextNotable);
  }

  private static List<Checkpoint> capped(List<Checkpoint> entries, Checkpoint added, int size) {
    List<Checkpoint> next = new ArrayList<>(entries);
    next.add(added);
    return next.size() > size ? List.copyOf(next.subList(next.size() - size, next.size())) : List.copyOf(next);
  }

  /** Routine and notable history together, oldest first. */
  List<Checkpoint> history() {
    List<Checkpoint> all = new ArrayList<>(routine);
    all.addAll(notable);
    // Saved in the same millisecond: the stream's order decides.
    all.sort(Comparator.comparing(Checkpoint::savedAt)
        .thenComparing(entry -> entry.clusterTime() == null ? 0L : entry.clusterTime().getValue(), Long::compareUnsigned));
    return all;
  }

  byte[] encode() {
    BsonDocument value = new BsonDocument("stream", new BsonString(stream)).append("epoch", new BsonInt64(epoch));
    value.append("checkpoint", checkpoint != null ? encode(checkpoint) : unreadableCheckpoint != null ? unreadableCheckpoint : BsonNull.VALUE);
    BsonArray keys = new BsonArray();
    for (Map.Entry<String, KeyPosition> entry : positions.entrySet()) {
      KeyPosition position = entry.getValue();
      BsonDocument key = new BsonDocument("key", new BsonString(entry.getKey()))
          .append("at", new BsonTimestamp(position.clusterTime()))
          .append("token", new BsonString(position.token()));
      if (position.snapshotId() != null) key.append("copied", position.snapshotId());
      if (position.snapshotNamespace() != null) key.append("copiedIn", new BsonString(position.snapshotNamespace()));
      keys.add(key);
    }
    value.append("positions", keys);
    value.append("history", encode(routine));
    value.append("notable", encode(notable));
    return value.toJson(CANONICAL).getBytes(StandardCharsets.UTF_8);
  }

  private static BsonArray encode(List<Checkpoint> entries) {
    BsonArray array = new BsonArray();
    for (Checkpoint entry : entries) array.add(encode(entry));
    return array;
  }

  private static BsonDocument encode(Checkpoint checkpoint) {
    return new BsonDocument()
        .append("kind", new BsonString(checkpoint.kind().label()))
        .append("token", checkpoint.resumeToken() == null ? BsonNull.VALUE : checkpoint.resumeToken())
        .append("clusterTime", checkpoint.clusterTime() == null ? BsonNull.VALUE : checkpoint.clusterTime())
        .append("savedAt", new BsonDateTime(checkpoint.savedAt().toEpochMilli()))
        .append("savedEpoch", new BsonInt64(checkpoint.epoch()))
        .append("note", checkpoint.note() == null ? BsonNull.VALUE : new BsonString(checkpoint.note()))
        .append("snapshot", checkpoint.snapshot() == null ? BsonNull.VALUE : checkpoint.snapshot());
  }

  /** Reads a stored value; never throws: what cannot be used is reported through {@link #corruption}. */
  static KafkaCheckpointRecord decode(String stream, String where, byte[] bytes) {
    String text = bytes == null ? "null" : new String(bytes, StandardCharsets.UTF_8);
    BsonDocument value;
    try {
      value = BsonDocument.parse(text);
    } catch (RuntimeException notJson) {
      return new KafkaCheckpointRecord(stream, 0, null, new BsonString(text),
          new CorruptCheckpointException(stream, text, "in " + where + " is not valid JSON"), Map.of(), List.of(), List.of());
    }
    long epoch = value.isNumber("epoch") ? value.getNumber("epoch").longValue() : 0;
    Map<String, KeyPosition> positions = new HashMap<>();
    if (value.isArray("positions")) {
      for (BsonValue entry : value.getArray("positions")) {
        if (!entry.isDocument()) continue;
        BsonDocument key = entry.asDocument();
        if (!key.isString("key") || !key.isTimestamp("at") || !key.isString("token")) continue;
        positions.put(key.getString("key").getValue(),
            new KeyPosition(key.getTimestamp("at").getValue(), key.getString("token").getValue(), key.get("copied"),
                key.isString("copiedIn") ? key.getString("copiedIn").getValue() : null));
      }
    }
    List<Checkpoint> routine = history(stream, value, "history");
    List<Checkpoint> notable = history(stream, value, "notable");
    BsonValue stored = value.get("checkpoint");
    if (stored == null || stored.isNull()) {
      return new KafkaCheckpointRecord(stream, epoch, null, null, null, positions, routine, notable);
    }
    try {
      Checkpoint checkpoint = checkpoint(stream, where, stored);
      return new KafkaCheckpointRecord(stream, epoch, checkpoint.position() == null ? null : checkpoint, null, null, positions, routine, notable);
    } catch (CorruptCheckpointException corrupt) {
      return new KafkaCheckpointRecord(stream, epoch, null, stored, corrupt, positions, routine, notable);
    }
  }

  private static List<Checkpoint> history(String stream, BsonDocument value, String field) {
    List<Checkpoint> entries = new ArrayList<>();
    if (!value.isArray(field)) return entries;
    for (BsonValue entry : value.getArray(field)) {
      try {
        entries.add(checkpoint(stream, "", entry));
      } catch (RuntimeException unreadable) {
        // left out, as StreamCheckpoints.history() says
      }
    }
    return List.copyOf(entries);
  }

  private static Checkpoint checkpoint(String stream, String where, BsonValue stored) {
    if (!stored.isDocument()) throw new CorruptCheckpointException(stream, String.valueOf(stored), "in " + where + " is not a checkpoint");
    return CheckpointJson.fromDocument(stream, stored.asDocument(), where);
  }
}
