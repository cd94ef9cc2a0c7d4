package io.tidemark.source;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;

/**
 * One chunk of an incremental snapshot between its watermarks (the DBLog idea): the rows read
 * between a low watermark L (the server's operation time just before the read) and a high
 * watermark H (just after it) are held while the change events flow on; every row whose key a
 * change event at or after L touched is dropped, since that event (and every later one) carries a
 * state at least as new as the row's; the rest are handed on once the stream has passed H. So the
 * output never goes back in time for a key: a row comes after every event up to H, and only for a
 * key no event from L on touched, so the row is the key's newest state until the next event.
 *
 * <p>Keys are recorded from the moment the chunk is opened, before L is known; those touched
 * before L are left out when the rows are handed on. Not thread-safe: one stage owns it.
 */
final class ChunkWindow {
  private final Map<BsonValue, BsonTimestamp> touched = new HashMap<>();
  private BsonTimestamp low;
  private BsonTimestamp high;
  private List<Document> rows;

  /** A change event of the chunk's collection for the document with this {@code _id}, at {@code time}. */
  void onEvent(BsonValue id, BsonTimestamp time) {
    if (id == null) return;
    BsonTimestamp seen = touched.get(id);
    if (seen == null || time == null || seen.compareTo(time) < 0) touched.put(id, time == null ? new BsonTimestamp(Long.MAX_VALUE) : time);
  }

  /** The read is done: the rows, read between {@code low} and {@code high}. */
  void read(BsonTimestamp low, List<Document> rows, BsonTimestamp high) {
    this.low = low;
    this.rows = List.copyOf(rows);
    this.high = high;
  }

  boolean isRead() {
    return rows != null;
  }

  /** Whether an element at {@code time} (an event's, a heartbeat's) is past the high watermark: the rows may go before it. */
  boolean passedBy(BsonTimestamp time) {
    return rows != null && time != null && time.compareTo(high) > 0;
  }

  /**
   * Whether a heartbeat at {@code time} shows the stream past the high watermark: a heartbeat is the
   * server's position after an empty batch, so every event at or before its time has been delivered;
   * one at H itself will do (an idle server's time stays at H until the next write).
   */
  boolean reachedBy(BsonTimestamp heartbeat) {
    return rows != null && heartbeat != null && heartbeat.compareTo(high) >= 0;
  }

  BsonTimestamp low() {
    return low;
  }

  BsonTimestamp high() {
    return high;
  }

  /** Every row read, in {@code _id} order, kept or not (the chunk's progress is its last). */
  List<Document> rows() {
    return rows;
  }

  /** The rows no event at or after the low watermark touched, in {@code _id} order. */
  List<Document> remaining() {
    List<Document> kept = new ArrayList<>(rows.size());
    for (Document row : rows) {
      BsonTimestamp seen = touched.get(row.toBsonDocument().get("_id"));
      if (seen == null || seen.compareTo(low) < 0) kept.add(row);
    }
    return kept;
  }
}
