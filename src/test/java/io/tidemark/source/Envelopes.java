package io.tidemark.source;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.OperationType;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;

/** Change envelopes made up for stage tests, without a server. */
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
    BsonDocument token = new BsonDocument("_data", new BsonString(String.format("%016x", index)));
    BsonDocument documentKey = new BsonDocument("_id", new BsonString(key));
    ChangeStreamDocument<Document> event =
        new ChangeStreamDocument<>(
            OperationType.INSERT.getValue(),
            token,
            new BsonDocument("db", new BsonString("test")).append("coll", new BsonString("c")),
            "collection",
            null,
            new Document("_id", key),
            null,
            documentKey,
            new BsonTimestamp(1_700_000_000 + (int) (index / 1000), (int) (index % 1000)),
            null,
            null,
            null,
            null,
            null,
            null);
    return ChangeEnvelope.of(seqNr, event);
  }
}
