package io.tidemark.source;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.OperationType;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * Change envelopes made up for stage tests, without a server. Event number {@code index} of the
 * made-up stream stands at cluster time (1,700,000,000 + index / 1000, 1000 × (index % 1000) + 1), so
 * heartbeats after it (up to 998 of them: the server's position moving on while other collections
 * are written) fit between it and the next event; its token has a replica set's form ({@code 82},
 * the time, then the index), so the time can be read out of it.
 */
public final class Envelopes {
  private Envelopes() {}

  public static ChangeEnvelope insert(long seqNr) {
    return insert(seqNr, "key-" + seqNr);
  }

  public static ChangeEnvelope insert(long seqNr, String key) {
    return event(seqNr, seqNr, key);
  }

  /** Event number {@code index} of a made-up stream (its token and time), delivered as #seqNr of a run. */
  public static ChangeEnvelope event(long seqNr, long index, String key) {
    return ChangeEnvelope.of(seqNr, document(index, key));
  }

  /** Event number {@code index} of the made-up stream, as the driver returns it. */
  public static ChangeStreamDocument<Document> document(long index, String key) {
    BsonDocument documentKey = new BsonDocument("_id", new BsonString(key));
    return
        new ChangeStreamDocument<>(
            OperationType.INSERT.getValue(),
            token(index, 1),
            new BsonDocument("db", new BsonString("test")).append("coll", new BsonString("c")),
            "collection",
            null,
            new Document("_id", key),
            null,
            documentKey,
            time(index, 1),
            null,
            null,
            null,
            null,
            null,
            null);
  }

  /** A quiet stream's position after event number {@code index} (and before the next), as the server's postBatchResumeToken. */
  public static BsonDocument heartbeatToken(long index) {
    return heartbeatToken(index, 1);
  }

  /**
   * A quiet stream's position {@code beat} oplog entries (of other collections, which the stream
   * does not deliver) after event number {@code index}, and before the next event: 1 to 998.
   */
  public static BsonDocument heartbeatToken(long index, int beat) {
    if (beat < 1 || beat > 998) throw new IllegalArgumentException("beat " + beat + ": expected 1 to 998");
    return token(index, 1 + beat);
  }

  /** The index of the made-up event (or heartbeat) a token stands at. */
  public static long index(BsonDocument token) {
    String data = token.getString("_data").getValue();
    return Long.parseLong(data.substring(22), 16);
  }

  /** How many oplog entries after its event a token stands: 0 for the event's own, the beat for a heartbeat's. */
  public static int beat(BsonDocument token) {
    String data = token.getString("_data").getValue();
    return Integer.parseInt(data.substring(18, 22), 16) - 1;
  }

  private static BsonTimestamp time(long index, int offset) {
    return new BsonTimestamp(1_700_000_000 + (int) (index / 1000), (int) (1000 * (index % 1000) + offset));
  }

  private static BsonDocument token(long index, int offset) {
    return new BsonDocument("_data", new BsonString(String.format("82%016x%04x%016x", time(index, offset).getValue(), offset, index)));
  }
}
