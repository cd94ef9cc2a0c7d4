package io.tidemark.sink;

import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * Where an event lies in its stream, as a sink stores it beside the writes it made: the cluster
 * time, then the resume token's {@code _data} (a server's tokens sort in stream order as strings;
 * several events of one transaction share a cluster time). Events without a token (snapshot
 * documents) sort before the events of the same cluster time.
 */
record EventPosition(long clusterTime, String token) implements Comparable<EventPosition> {
  private static final org.bson.json.JsonWriterSettings EXTENDED_JSON =
      org.bson.json.JsonWriterSettings.builder().outputMode(org.bson.json.JsonMode.EXTENDED).build();

  static EventPosition of(ChangeEnvelope event) {
    BsonTimestamp time = event.clusterTime();
    BsonDocument token = event.resumeToken();
    return new EventPosition(
        time == null ? 0L : time.getValue(),
        token != null && token.isString("_data") ? token.getString("_data").getValue() : "");
  }

  /** The key a sink keeps positions by: the documentKey as canonical extended JSON ("" when the event has none). */
  static String keyOf(ChangeEnvelope event) {
    BsonDocument key = event.documentKey();
    return key == null ? "" : key.toJson(EXTENDED_JSON);
  }

  @Override
  public int compareTo(EventPosition other) {
    int byTime = Long.compareUnsigned(clusterTime, other.clusterTime);
    return byTime != 0 ? byTime : token.compareTo(other.token);
  }

  boolean isAtOrBefore(EventPosition other) {
    return compareTo(other) <= 0;
  }
}
