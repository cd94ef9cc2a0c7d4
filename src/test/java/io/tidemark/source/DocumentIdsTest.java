package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Date;
import java.util.List;
import org.bson.BsonBinary;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.types.Decimal128;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.Test;

/** A copied document's {@code _id} as BSON is what the default codecs make of it, whichever way it is made. */
class DocumentIdsTest {

  @Test
  void everyKindOfIdIsWhatTheCodecsMakeOfIt() {
    List<Object> ids = List.of(7, -1, Integer.MAX_VALUE, 7L, Long.MIN_VALUE, "order-7", "", new ObjectId(), 2.5, -0.0, Double.NaN,
        new Date(1_795_791_036_000L), true, false, Decimal128.parse("12.50"), new BsonString("already BSON"),
        // no shortcut for these: through the codecs
        new Document("tenant", "a").append("n", 1), List.of(1, "two"), new BsonBinary(new byte[] {1, 2, 3}), (short) 3);
    for (Object id : ids) {
      BsonValue byCodecs = new Document("_id", id).toBsonDocument().get("_id");
      assertThat(DocumentIds.of(new Document("_id", id))).as("the _id %s (%s)", id, id.getClass().getSimpleName()).isEqualTo(byCodecs);
      assertThat(DocumentIds.of(new Document("_id", id)).getBsonType()).isEqualTo(byCodecs.getBsonType());
    }
  }

  @Test
  void aDocumentDecodedFromBsonGivesItsIdBack() {
    BsonDocument stored = BsonDocument.parse("{_id: {$numberLong: '42'}, total: 3}");
    Document decoded = new Document(org.bson.codecs.configuration.CodecRegistries.fromRegistries(
            com.mongodb.MongoClientSettings.getDefaultCodecRegistry()).get(Document.class)
        .decode(new org.bson.BsonDocumentReader(stored), org.bson.codecs.DecoderContext.builder().build()));
    assertThat(DocumentIds.of(decoded)).isEqualTo(stored.get("_id"));
  }

  @Test
  void noIdIsNull() {
    assertThat(DocumentIds.of(new Document("total", 3))).isNull();
  }
}
