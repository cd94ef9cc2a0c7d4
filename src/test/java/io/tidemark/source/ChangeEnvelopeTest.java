package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoNamespace;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** Envelopes sent to sharded workers travel as their event document: every kind must come back as it left. */
class ChangeEnvelopeTest {

  @Test
  void aCopiedDocumentSurvivesTheTripAsAnEventDocument() {
    BsonTimestamp at = new BsonTimestamp(1_800_000_000, 3);
    Document order = new Document("_id", 42).append("status", "paid").append("total", 19.5);
    ChangeEnvelope copied = ChangeEnvelope.snapshot(7, new MongoNamespace("shop", "orders"), at, order);

    ChangeEnvelope received = ChangeEnvelope.fromEventDocument(7, BsonDocument.parse(copied.eventDocument().toJson()));

    assertThat(received.isSnapshot()).isTrue();
    assertThat(received.operationType()).isEqualTo(ChangeEnvelope.SNAPSHOT);
    assertThat(received.documentKey()).isEqualTo(new BsonDocument("_id", new BsonInt32(42)));
    assertThat(received.fullDocument()).isEqualTo(order);
    assertThat(received.clusterTime()).isEqualTo(at);
    assertThat(received.resumeToken()).isNull();
    assertThat(received.snapshotProgress()).isEqualTo(copied.snapshotProgress());
  }

  @Test
  void aChangeEventSurvivesTheTripAsAnEventDocument() {
    ChangeEnvelope event = Envelopes.insert(5, "order-5");
    ChangeEnvelope received = ChangeEnvelope.fromEventDocument(5, BsonDocument.parse(event.eventDocument().toJson()));
    assertThat(received.isSnapshot()).isFalse();
    assertThat(received.resumeToken()).isEqualTo(event.resumeToken());
    assertThat(received.documentKey()).isEqualTo(event.documentKey());
    assertThat(received.clusterTime()).isEqualTo(event.clusterTime());
    assertThat(received.operationType()).isEqualTo("insert");
  }

  @Test
  void aCopiedDocumentOfAShardedCollectionIsKeyedAsItsChangeEventsAre() {
    BsonTimestamp at = new BsonTimestamp(1_800_000_000, 3);
    Document order = new Document("_id", 42).append("region", "eu").append("customer", new Document("id", 7));
    BsonDocument shardKey = BsonDocument.parse("{region: 1, 'customer.id': 'hashed'}");
    ChangeEnvelope copied = ChangeEnvelope.snapshot(7, new MongoNamespace("shop", "orders"), at, order, shardKey);
    // A change event of a sharded collection: documentKey {<shard key fields>, _id}.
    assertThat(copied.documentKey()).isEqualTo(BsonDocument.parse("{region: 'eu', 'customer.id': 7, _id: 42}"));
    assertThat(copied.snapshotProgress()).isEqualTo(BsonDocument.parse("{_id: 42}"));
    BsonDocument byId = BsonDocument.parse("{_id: 1, region: 1}");
    assertThat(ChangeEnvelope.snapshot(7, new MongoNamespace("shop", "orders"), at, order, byId).documentKey())
        .isEqualTo(BsonDocument.parse("{_id: 42, region: 'eu'}"));
  }
}
