package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Decimal128;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

/** Documents are stored as their BSON, and read back as they were written. */
class StoredDocumentsTest {

  @Test
  void everyBsonTypeComesBackAsItWent() {
    Document document = new Document("_id", new ObjectId())
        .append("int", 1).append("long", 2L).append("double", 3.5).append("decimal", new Decimal128(1L, 2L))
        .append("string", "text").append("bool", true).append("null", null)
        .append("date", Instant.ofEpochMilli(1_700_000_000_123L)).append("ts", new BsonTimestamp(42L))
        .append("uuid", UUID.randomUUID()).append("bin", new BinData(new byte[] {1, 2, 3}))
        .append("array", List.of(1, "two", new Document("three", 3))).append("nested", new Document("a", new Document("b", List.of())));
    byte[] stored = StoredDocuments.encode(document);
    assertThat(StoredDocuments.decode(stored)).isEqualTo(document);
  }

  @Test
  void aSmallDocumentTakesItsBsonSizeAndOneByte() {
    Document document = new Document("_id", 1).append("customer", "c1").append("total", 10);
    assertThat(StoredDocuments.encode(document)).hasSize(Tokens.bsonSize(document) + 1);
  }

  @Test
  void aDocumentOverTheBsonLimitIsStoredAnywayAndReadBack() {
    String half = "x".repeat(9 * 1024 * 1024);
    Document entry = new Document("_id", 1L).append("o", new Document("$set", new Document("big", half)))
        .append("updateDescription", new Document("updatedFields", new Document("big", half)));
    assertThat(StoredDocuments.decode(StoredDocuments.encode(entry))).isEqualTo(entry);
  }
}
