package io.tidemark.source;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.OperationType;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * Change envelopes made up for stage tests, without a server. Event number {@code index} of the
 * made-up stream stands at cluster time (1,700,000,000 + index / 1000, 2 × (index % 1000) + 1), so
 * a heartbeat after it fits between it and the next event; its token has a replica set's form
 * ({@code 82}, the time, then the index), so the time can be read out of it.
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
    return token(index, 2);
  }

  /** The index of the made-up event (or heartbeat) a token stands at. */
  public static long index(BsonDocument token) {
    String data = token.getString("_data").getValue();
    return Long.parseLong(data.substring(20), 16);
  }

  private static BsonTimestamp time(long index, int offset) {
    return new BsonTimestamp(1_700_000_000 + (int) (index / 1000), (int) (2 * (index % 1000) + offset));
  }

  private static BsonDocument token(long index, int offset) {
    return new BsonDocument("_data", new BsonString(String.format("82%016x%02x%016x", time(index, offset).getValue(), offset, index)));
  }
}
