package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoCommandException;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/** The embedded server behaves like a replica-set member where change streams depend on it. */
class EmbeddedMongoIT {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private static <T> T block(org.reactivestreams.Publisher<T> publisher) {
    return Mono.from(publisher).block(WAIT);
  }

  private static List<ChangeStreamDocument<Document>> take(ChangeStreamPublisher<Document> stream, int n) {
    return Flux.from(stream.batchSize(100)).take(n).collectList().block(WAIT);
  }

  /** A stream from the oldest entry of the oplog: the server refuses to start before it (286). */
  private static ChangeStreamPublisher<Document> fromStart(MongoClient client, MongoCollection<Document> collection) {
    return collection.watch().startAtOperationTime(oldest(client));
  }

  private static BsonTimestamp oldest(MongoClient client) {
    Document first = block(client.getDatabase("local").getCollection("oplog.rs").find().sort(new Document("$natural", 1)).first());
    return first.get("ts", BsonTimestamp.class);
  }

  @Test
  void changeEventsHaveTheShapeAReplicaSetSends() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      block(orders.insertOne(new Document("_id", 1).append("a", 1).append("b", "x").append("n", 5)));
      block(orders.updateOne(Filters.eq("_id", 1), Updates.combine(Updates.set("a", 2), Updates.unset("b"), Updates.inc("n", 1))));
      block(orders.replaceOne(Filters.eq("_id", 1), new Document("c", true)));
      block(orders.deleteOne(Filters.eq("_id", 1)));

      List<ChangeStreamDocument<Document>> events = take(fromStart(client, orders), 4);
      assertThat(events).extracting(ChangeStreamDocument::getOperationTypeString)
          .containsExactly("insert", "update", "replace", "delete");
      assertThat(events).allSatisfy(event -> {
        assertThat(event.getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 1}"));
        assertThat(event.getNamespace().getFullName()).isEqualTo("shop.orders");
        assertThat(event.getClusterTime()).isNotNull();
      });
      assertThat(events.get(0).getFullDocument()).isEqualTo(new Document("_id", 1).append("a", 1).append("b", "x").append("n", 5));
      assertThat(events.get(1).getUpdateDescription().getUpdatedFields()).isEqualTo(BsonDocument.parse("{a: 2, n: 6}"));
      assertThat(events.get(1).getUpdateDescription().getRemovedFields()).containsExactly("b");
      assertThat(events.get(1).getFullDocument()).isNull();
      assertThat(events.get(2).getFullDocument()).isEqualTo(new Document("_id", 1).append("c", true));
      assertThat(events).extracting(e -> e.getClusterTime().getValue()).isSorted().doesNotHaveDuplicates();
    }
  }

  @Test
  void resumesAfterATokenWithNeitherGapNorRepeat() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < 10; i++) block(orders.insertOne(new Document("_id", i)));
      List<ChangeStreamDocument<Document>> all = take(fromStart(client, orders), 10);
      List<ChangeStreamDocument<Document>> rest = take(orders.watch().resumeAfter(all.get(4).getResumeToken()), 5);
      assertThat(rest).extracting(e -> e.getDocumentKey().getInt32("_id").getValue()).containsExactly(5, 6, 7, 8, 9);
      List<ChangeStreamDocument<Document>> inclusive = take(orders.watch().startAtOperationTime(all.get(7).getClusterTime()), 3);
      assertThat(inclusive).extracting(e -> e.getDocumentKey().getInt32("_id").getValue()).containsExactly(7, 8, 9);
    }
  }

  @Test
  void dataOplogAndTimeSurviveARestartOnTheSameDirectory(@TempDir Path data) {
    BsonDocument token;
    BsonTimestamp before;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < 5; i++) block(orders.insertOne(new Document("_id", i)));
      List<ChangeStreamDocument<Document>> events = take(fromStart(client, orders), 5);
      token = events.get(2).getResumeToken();
      before = events.get(4).getClusterTime();
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      block(orders.insertOne(new Document("_id", 5)));
      List<ChangeStreamDocument<Document>> rest = take(orders.watch().resumeAfter(token), 3);
      assertThat(rest).extracting(e -> e.getDocumentKey().getInt32("_id").getValue()).containsExactly(3, 4, 5);
      assertThat(rest.get(2).getClusterTime()).isGreaterThan(before);
      assertThat(block(orders.countDocuments())).isEqualTo(6L);
    }
  }

  @Test
  void resumingBeforeTheTruncatedHistoryFailsWithChangeStreamHistoryLost() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withOplogMaxEntries(10));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      block(orders.insertOne(new Document("_id", 0)));
      ChangeStreamDocument<Document> first = take(fromStart(client, orders), 1).get(0);
      BsonDocument early = first.getResumeToken();
      for (int i = 1; i < 50; i++) block(orders.insertOne(new Document("_id", i)));
      assertThatThrownBy(() -> take(orders.watch().resumeAfter(early), 1))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> {
            assertThat(e.getErrorCode()).isEqualTo(286);
            assertThat(e.getErrorCodeName()).isEqualTo("ChangeStreamHistoryLost");
            assertThat(e.hasErrorLabel("NonResumableChangeStreamError")).isTrue();
          });
      assertThatThrownBy(() -> take(orders.watch().startAtOperationTime(first.getClusterTime()), 1))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(286));
      long retained = block(client.getDatabase("local").getCollection("oplog.rs").countDocuments());
      assertThat(retained).isBetween(10L, 11L);
    }
  }

  @Test
  void aTokenThatIsNotInTheOplogFailsWithChangeStreamFatalError() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      block(orders.insertOne(new Document("_id", 0)));
      BsonDocument unknown = BsonDocument.parse("{_data: \"00000001000000ff\"}");
      assertThatThrownBy(() -> take(orders.watch().resumeAfter(unknown), 1))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(280));
      BsonDocument malformed = BsonDocument.parse("{_data: \"not hex\"}");
      assertThatThrownBy(() -> take(orders.watch().resumeAfter(malformed), 1))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(260));
    }
  }

  @Test
  void droppingTheCollectionEndsItsStreamWithInvalidate() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      block(orders.insertOne(new Document("_id", 0)));
      block(orders.drop());
      List<ChangeStreamDocument<Document>> events = Flux.from(fromStart(client, orders)).collectList().block(WAIT);
      assertThat(events).extracting(ChangeStreamDocument::getOperationTypeString).containsExactly("insert", "drop", "invalidate");
      BsonDocument invalidate = events.get(2).getResumeToken();
      assertThatThrownBy(() -> take(orders.watch().resumeAfter(invalidate), 1))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(260));
      block(orders.insertOne(new Document("_id", 1)));
      List<ChangeStreamDocument<Document>> after = take(orders.watch().startAfter(invalidate), 1);
      assertThat(after.get(0).getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 1}"));
    }
  }

  @Test
  void watchesEveryCollectionOfADatabase() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      var shop = client.getDatabase("shop");
      block(shop.getCollection("orders").insertOne(new Document("_id", 1)));
      block(client.getDatabase("other").getCollection("orders").insertOne(new Document("_id", 2)));
      block(shop.getCollection("customers").insertOne(new Document("_id", 3)));
      List<ChangeStreamDocument<Document>> events =
          Flux.from(shop.watch().startAtOperationTime(oldest(client))).take(2).collectList().block(WAIT);
      assertThat(events).extracting(e -> e.getNamespace().getFullName()).containsExactly("shop.orders", "shop.customers");
    }
  }
}
