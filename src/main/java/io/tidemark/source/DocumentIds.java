package io.tidemark.source;

import org.bson.BsonBoolean;
import org.bson.BsonDateTime;
import org.bson.BsonDecimal128;
import org.bson.BsonDouble;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.types.Decimal128;
import org.bson.types.ObjectId;

/**
 * A copied document's {@code _id} as BSON. Every copied document needs it (its documentKey, the
 * copy's position), and going through the codecs ({@code new Document("_id", id).toBsonDocument()})
 * builds and encodes a whole document each time: the types {@code _id}s usually have are wrapped
 * directly, as the default codecs would encode them; any other goes through the codecs.
 */
final class DocumentIds {
  private DocumentIds() {}

  /** The document's {@code _id} as BSON; null when it has none. */
  static BsonValue of(Document document) {
    return of(document.get("_id"));
  }

  /** {@code id} (a value of a document decoded by the default codecs) as BSON; null for null. */
  static BsonValue of(Object id) {
    if (id == null) return null;
    if (id instanceof BsonValue value) return value;
    if (id instanceof Integer value) return new BsonInt32(value);
    if (id instanceof Long value) return new BsonInt64(value);
    if (id instanceof String value) return new BsonString(value);
    if (id instanceof ObjectId value) return new BsonObjectId(value);
    if (id instanceof Double value) return new BsonDouble(value);
    if (id instanceof java.util.Date value) return new BsonDateTime(value.getTime());
    if (id instanceof Boolean value) return BsonBoolean.valueOf(value);
    if (id instanceof Decimal128 value) return new BsonDecimal128(value);
    return new Document("_id", id).toBsonDocument().get("_id");
  }
}
