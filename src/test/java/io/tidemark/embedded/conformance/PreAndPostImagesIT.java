package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoCommandException;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions;
import com.mongodb.client.model.CreateCollectionOptions;
import com.mongodb.client.model.Field;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Pre- and post-images (https://www.mongodb.com/docs/manual/changeStreams/#change-streams-with-document-pre--and-post-images):
 * a collection created or modified with {@code changeStreamPreAndPostImages: {enabled: true}} keeps
 * the document before (and after) each change; a stream opened with {@code fullDocumentBeforeChange}
 * gets the document before each update, replace and delete, and one opened with
 * {@code fullDocument: whenAvailable} the document right after each update. {@code whenAvailable}
 * gives null where there is none; {@code required} fails the stream with NoMatchingDocument (47).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PreAndPostImagesIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  private static BsonDocument json(String json) {
    return BsonDocument.parse(json);
  }

  private static MongoCollection<Document> withImages(MongoDatabase database, String name) {
    database.createCollection(name, new CreateCollectionOptions()
        .changeStreamPreAndPostImagesOptions(new ChangeStreamPreAndPostImagesOptions(true)));
    return database.getCollection(name);
  }

  private static List<BsonDocument> events(MongoCollection<Document> collection, BsonTimestamp start, int n,
      FullDocument fullDocument, FullDocumentBeforeChange beforeChange) {
    try (var cursor = collection.watch(BsonDocument.class).startAtOperationTime(start).fullDocument(fullDocument)
        .fullDocumentBeforeChange(beforeChange).withDocumentClass(BsonDocument.class).cursor()) {
      return Deployment.takeRaw(cursor, n);
    }
  }

  // "fullDocumentBeforeChange: whenAvailable ... the pre-image of the modified document for replace,
  // update and delete change events"; an insert has none
  @Test
  void updateReplaceAndDeleteCarryTheDocumentBeforeTheChange() {
    MongoCollection<Document> orders = withImages(deployment.database(), "orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1).append("a", 1));
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    orders.replaceOne(Filters.eq("_id", 1), new Document("_id", 1).append("b", 1));
    orders.deleteOne(Filters.eq("_id", 1));
    List<BsonDocument> events = events(orders, start, 4, FullDocument.DEFAULT, FullDocumentBeforeChange.WHEN_AVAILABLE);
    assertThat(events).extracting(e -> e.getString("operationType").getValue()).containsExactly("insert", "update", "replace", "delete");
    assertThat(events.get(0).containsKey("fullDocumentBeforeChange")).isFalse();
    assertThat(events.get(1).getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, a: 1}"));
    assertThat(events.get(2).getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, a: 2}"));
    assertThat(events.get(3).getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, b: 1}"));
  }

  // Without the option, no event carries the field.
  @Test
  void aStreamThatDoesNotAskGetsNoPreImages() {
    MongoCollection<Document> orders = withImages(deployment.database(), "orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1).append("a", 1));
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    BsonDocument update = events(orders, start, 2, FullDocument.DEFAULT, FullDocumentBeforeChange.DEFAULT).get(1);
    assertThat(update.containsKey("fullDocumentBeforeChange")).isFalse();
    assertThat(update.containsKey("fullDocument")).isFalse();
  }

  // collMod turns the option on for the changes after it; listCollections shows it
  // (https://www.mongodb.com/docs/manual/reference/command/collMod/#change-streams-with-document-pre--and-post-images)
  @Test
  void collModTurnsPreImagesOnForTheChangesAfterIt() {
    MongoDatabase database = deployment.database();
    MongoCollection<Document> orders = database.getCollection("orders");
    orders.insertOne(new Document("_id", 1).append("a", 1));
    BsonTimestamp start = deployment.afterLastWrite();
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    database.runCommand(new Document("collMod", "orders").append("changeStreamPreAndPostImages", new Document("enabled", true)));
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 3));
    List<BsonDocument> events = events(orders, start, 2, FullDocument.DEFAULT, FullDocumentBeforeChange.WHEN_AVAILABLE);
    assertThat(events.get(0).isNull("fullDocumentBeforeChange")).as("before collMod: whenAvailable gives null").isTrue();
    assertThat(events.get(1).getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, a: 2}"));
    assertThat(options(database, "orders").get("changeStreamPreAndPostImages", Document.class)).isEqualTo(new Document("enabled", true));

    database.runCommand(new Document("collMod", "orders").append("changeStreamPreAndPostImages", new Document("enabled", false)));
    assertThat(options(database, "orders").containsKey("changeStreamPreAndPostImages")).isFalse();
  }

  /** A collection's options as listCollections gives them (filtered here: mongo-java-server's listCollections ignores a filter). */
  private static Document options(MongoDatabase database, String collection) {
    return database.listCollections().into(new ArrayList<>()).stream().filter(listed -> collection.equals(listed.getString("name")))
        .findFirst().orElseThrow().get("options", Document.class);
  }

  // collMod of a collection that does not exist: NamespaceNotFound (26)
  @Test
  void collModOfAMissingCollectionIsNamespaceNotFound() {
    MongoDatabase database = deployment.database();
    assertThatThrownBy(() -> database.runCommand(new Document("collMod", "nothing")
        .append("changeStreamPreAndPostImages", new Document("enabled", true))))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(26));
  }

  // "required: ... an error is raised if the pre-image is not available": NoMatchingDocument (47),
  // when the stream meets the event (SERVER-66808)
  @Test
  void requiredFailsTheStreamAtAnEventWithoutAPreImage() {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    orders.insertOne(new Document("_id", 1).append("a", 1));
    BsonTimestamp start = deployment.afterLastWrite();
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    assertThatThrownBy(() -> events(orders, start, 1, FullDocument.DEFAULT, FullDocumentBeforeChange.REQUIRED))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> {
          assertThat(e.getErrorCode()).isEqualTo(47);
          assertThat(e.getErrorMessage()).contains("pre-image");
        });
  }

  // Inserts need no pre-image: a required stream reads them.
  @Test
  void requiredReadsInsertsAndTheChangesOfACollectionWithImages() {
    MongoCollection<Document> orders = withImages(deployment.database(), "orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1).append("a", 1));
    orders.deleteOne(Filters.eq("_id", 1));
    List<BsonDocument> events = events(orders, start, 2, FullDocument.DEFAULT, FullDocumentBeforeChange.REQUIRED);
    assertThat(events.get(1).getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, a: 1}"));
  }

  // fullDocument: whenAvailable is the post-image, the document right after this update (not the
  // document now, as updateLookup gives); without images null, required fails with 47
  @Test
  void fullDocumentWhenAvailableIsTheDocumentRightAfterTheUpdate() {
    MongoDatabase database = deployment.database();
    MongoCollection<Document> orders = withImages(database, "orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1).append("a", 1));
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    orders.updateOne(Filters.eq("_id", 1), Updates.set("a", 3));
    List<BsonDocument> postImages = events(orders, start, 3, FullDocument.WHEN_AVAILABLE, FullDocumentBeforeChange.DEFAULT);
    assertThat(postImages.get(1).getDocument("fullDocument")).isEqualTo(json("{_id: 1, a: 2}"));
    List<BsonDocument> lookedUp = events(orders, start, 3, FullDocument.UPDATE_LOOKUP, FullDocumentBeforeChange.DEFAULT);
    assertThat(lookedUp.get(1).getDocument("fullDocument")).isEqualTo(json("{_id: 1, a: 3}"));

    MongoCollection<Document> plain = database.getCollection("plain");
    plain.insertOne(new Document("_id", 1).append("a", 1));
    BsonTimestamp plainStart = deployment.afterLastWrite();
    plain.updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    assertThat(events(plain, plainStart, 1, FullDocument.WHEN_AVAILABLE, FullDocumentBeforeChange.DEFAULT).get(0).isNull("fullDocument"))
        .isTrue();
    assertThatThrownBy(() -> events(plain, plainStart, 1, FullDocument.REQUIRED, FullDocumentBeforeChange.DEFAULT))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(47));
  }

  // Every write path keeps its images: findAndModify, pipeline updates, upserts (an insert: no pre-image).
  @Test
  void findAndModifyAndPipelineUpdatesKeepTheirImages() {
    MongoCollection<Document> orders = withImages(deployment.database(), "orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1).append("a", 1));
    orders.findOneAndUpdate(Filters.eq("_id", 1), Updates.inc("a", 1));
    orders.updateOne(Filters.eq("_id", 1), List.of(Aggregates.set(new Field<>("b", "$a"))));
    orders.findOneAndReplace(Filters.eq("_id", 1), new Document("c", 1));
    orders.findOneAndDelete(Filters.eq("_id", 1));
    List<BsonDocument> events = events(orders, start, 5, FullDocument.WHEN_AVAILABLE, FullDocumentBeforeChange.WHEN_AVAILABLE);
    assertThat(events).extracting(e -> e.get("fullDocumentBeforeChange")).containsExactly(
        null, json("{_id: 1, a: 1}"), json("{_id: 1, a: 2}"), json("{_id: 1, a: 2, b: 2}"), json("{_id: 1, c: 1}"));
    assertThat(events.get(2).getDocument("fullDocument")).isEqualTo(json("{_id: 1, a: 2, b: 2}"));
  }

  // In a transaction each operation's pre-image is the document as the transaction's previous
  // operation on it left it.
  @Test
  void eachOperationOfATransactionHasItsOwnPreImage() {
    MongoCollection<Document> orders = withImages(deployment.database(), "orders");
    orders.insertOne(new Document("_id", 1).append("n", 1));
    BsonTimestamp start = deployment.afterLastWrite();
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      orders.updateOne(session, Filters.eq("_id", 1), Updates.inc("n", 1));
      orders.updateOne(session, Filters.eq("_id", 1), Updates.inc("n", 1));
      orders.deleteOne(session, Filters.eq("_id", 1));
      session.commitTransaction();
    }
    List<BsonDocument> events = events(orders, start, 3, FullDocument.WHEN_AVAILABLE, FullDocumentBeforeChange.REQUIRED);
    assertThat(events).extracting(e -> e.getDocument("fullDocumentBeforeChange")).containsExactly(
        json("{_id: 1, n: 1}"), json("{_id: 1, n: 2}"), json("{_id: 1, n: 3}"));
    assertThat(events.get(0).getDocument("fullDocument")).isEqualTo(json("{_id: 1, n: 2}"));
    assertThat(events).allMatch(e -> e.containsKey("lsid"));
  }

  // An option value the server does not know is refused when the stream opens.
  @Test
  void anUnknownFullDocumentBeforeChangeValueIsRefused() {
    MongoDatabase database = deployment.database();
    database.getCollection("orders").insertOne(new Document("_id", 1));
    List<Document> pipeline = List.of(new Document("$changeStream", new Document("fullDocumentBeforeChange", "sometimes")));
    assertThatThrownBy(() -> database.getCollection("orders").aggregate(pipeline).into(new ArrayList<>()))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(2));
  }
}
