package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoNamespace;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.junit.jupiter.api.Test;

/** Reading a request document: what the CLI writes reads back; a malformed one is refused saying why. */
class SignalCollectionTest {
  @Test
  void aRequestAsTheCommandWritesItReadsBackWithItsProgress() {
    BsonDocument written = SignalCollection.request("orders", new MongoNamespace("shop", "orders"), BsonDocument.parse("{\"status\": \"open\"}"))
        .toBsonDocument();
    written.put("_id", new org.bson.BsonObjectId());
    SignalCollection.Request fresh = SignalCollection.parse(written);
    assertThat(fresh.namespace().getFullName()).isEqualTo("shop.orders");
    assertThat(fresh.filter()).isEqualTo(BsonDocument.parse("{\"status\": \"open\"}"));
    assertThat(fresh.after()).isNull();
    written.put("after", new BsonInt32(1014));
    written.put("copied", new org.bson.BsonInt64(1000));
    written.put("chunks", new BsonInt32(10));
    SignalCollection.Request going = SignalCollection.parse(written);
    assertThat(going.after()).isEqualTo(new BsonInt32(1014));
    assertThat(going.copied()).isEqualTo(1000);
    assertThat(going.chunks()).isEqualTo(10);
  }

  @Test
  void aRequestWithoutACollectionOrWithAFilterThatIsNoDocumentIsRefused() {
    assertThatThrownBy(() -> SignalCollection.parse(BsonDocument.parse("{\"_id\": 1, \"stream\": \"s\"}")))
        .hasMessage("incremental snapshot request BsonInt32{value=1} has no collection \"<db>.<collection>\"");
    assertThatThrownBy(() -> SignalCollection.parse(BsonDocument.parse("{\"_id\": 1, \"stream\": \"s\", \"collection\": \"orders\"}")))
        .hasMessageContaining("collection must be \"<db>.<collection>\", was orders");
    assertThatThrownBy(() -> SignalCollection.parse(BsonDocument.parse("{\"_id\": 1, \"collection\": \"shop.orders\", \"filter\": \"x\"}")))
        .hasMessageContaining("filter must be a document");
  }
}
