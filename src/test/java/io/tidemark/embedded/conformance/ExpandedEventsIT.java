package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoNamespace;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import java.util.List;
import org.bson.BsonBinary;
import org.bson.BsonBinarySubType;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Expanded events (https://www.mongodb.com/docs/manual/reference/change-events/, the events "new in
 * 6.0" that a stream sees only with {@code showExpandedEvents: true}): create, createIndexes,
 * dropIndexes and modify, each with {@code collectionUUID} and {@code operationDescription}; drop and
 * rename gain {@code collectionUUID}, and rename the target in its description. Off by default.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExpandedEventsIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  private static BsonDocument json(String json) {
    return BsonDocument.parse(json);
  }

  private static List<BsonDocument> events(MongoDatabase database, BsonTimestamp start, int n, boolean expanded) {
    try (var cursor = database.watch(BsonDocument.class).startAtOperationTime(start).showExpandedEvents(expanded).withDocumentClass(BsonDocument.class).cursor()) {
      return Deployment.takeRaw(cursor, n);
    }
  }

  private static String type(BsonDocument event) {
    return event.getString("operationType").getValue();
  }

  /** The collection's UUID, as listCollections gives it ({@code info.uuid}). */
  private static BsonBinary uuid(MongoDatabase database, String collection) {
    // filtered here: mongo-java-server's listCollections ignores a filter
    BsonDocument listed = database.listCollections(BsonDocument.class).into(new java.util.ArrayList<>()).stream()
        .filter(description -> description.getString("name").getValue().equals(collection)).findFirst().orElseThrow();
    return listed.getDocument("info").getBinary("uuid");
  }

  // create (https://www.mongodb.com/docs/manual/reference/change-events/create/): operationDescription
  // holds the idIndex; createIndexes / dropIndexes: the indexes; an insert into a new collection
  // creates it first
  @Test
  void createAndIndexesAreEventsWithTheirDescription() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.createCollection("orders");
    MongoCollection<Document> orders = database.getCollection("orders");
    orders.createIndex(Indexes.ascending("customer"), new IndexOptions().name("by_customer"));
    orders.insertOne(new Document("_id", 1).append("customer", "c"));
    orders.dropIndex("by_customer");
    database.getCollection("lines").insertOne(new Document("_id", 1));
    List<BsonDocument> events = events(database, start, 6, true);
    assertThat(events).extracting(ExpandedEventsIT::type)
        .containsExactly("create", "createIndexes", "insert", "dropIndexes", "create", "insert");
    BsonBinary uuid = uuid(database, "orders");
    assertThat(uuid.getType()).isEqualTo(BsonBinarySubType.UUID_STANDARD.getValue());

    BsonDocument create = events.get(0);
    assertThat(create.getBinary("collectionUUID")).isEqualTo(uuid);
    assertThat(create.getDocument("ns")).isEqualTo(json("{db: '" + database.getName() + "', coll: 'orders'}"));
    assertThat(create.getDocument("operationDescription").getDocument("idIndex"))
        .isEqualTo(json("{v: 2, key: {_id: 1}, name: '_id_'}"));

    BsonDocument createIndexes = events.get(1);
    assertThat(createIndexes.getBinary("collectionUUID")).isEqualTo(uuid);
    assertThat(createIndexes.getDocument("operationDescription"))
        .isEqualTo(json("{indexes: [{v: 2, key: {customer: 1}, name: 'by_customer'}]}"));
    assertThat(events.get(3).getDocument("operationDescription"))
        .isEqualTo(json("{indexes: [{v: 2, key: {customer: 1}, name: 'by_customer'}]}"));
    assertThat(events.get(4).getDocument("ns").getString("coll").getValue()).isEqualTo("lines");
  }

  // modify (https://www.mongodb.com/docs/manual/reference/change-events/modify/): the options
  // changed in operationDescription, the options before in stateBeforeChange.collectionOptions
  @Test
  void collModIsAModifyEvent() {
    MongoDatabase database = deployment.database();
    database.createCollection("orders");
    BsonTimestamp start = deployment.afterLastWrite();
    database.runCommand(new Document("collMod", "orders").append("changeStreamPreAndPostImages", new Document("enabled", true)));
    BsonDocument modify = events(database, start, 1, true).get(0);
    assertThat(type(modify)).isEqualTo("modify");
    assertThat(modify.getBinary("collectionUUID")).isEqualTo(uuid(database, "orders"));
    assertThat(modify.getDocument("operationDescription")).isEqualTo(json("{changeStreamPreAndPostImages: {enabled: true}}"));
    assertThat(modify.getDocument("stateBeforeChange").getDocument("collectionOptions").getBinary("uuid"))
        .isEqualTo(uuid(database, "orders"));
  }

  // drop and rename carry the collection's UUID; rename its target in operationDescription.to
  // (https://www.mongodb.com/docs/manual/reference/change-events/rename/)
  @Test
  void renameAndDropCarryTheCollectionsUuid() {
    MongoDatabase database = deployment.database();
    database.getCollection("old").insertOne(new Document("_id", 1));
    BsonBinary uuid = uuid(database, "old");
    BsonTimestamp start = deployment.afterLastWrite();
    database.getCollection("old").renameCollection(new MongoNamespace(database.getName(), "new"));
    assertThat(uuid(database, "new")).as("a rename keeps the UUID").isEqualTo(uuid);
    database.getCollection("new").drop();
    List<BsonDocument> events = events(database, start, 2, true);
    assertThat(events).extracting(ExpandedEventsIT::type).containsExactly("rename", "drop");
    assertThat(events.get(0).getBinary("collectionUUID")).isEqualTo(uuid);
    assertThat(events.get(0).getDocument("operationDescription"))
        .isEqualTo(json("{to: {db: '" + database.getName() + "', coll: 'new'}}"));
    assertThat(events.get(1).getBinary("collectionUUID")).isEqualTo(uuid);
  }

  // Off by default: the same writes give only the events a stream always sees.
  @Test
  void withoutTheOptionAStreamSeesNoExpandedEvents() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.createCollection("orders");
    database.getCollection("orders").createIndex(Indexes.ascending("customer"));
    database.runCommand(new Document("collMod", "orders").append("changeStreamPreAndPostImages", new Document("enabled", true)));
    database.getCollection("orders").insertOne(new Document("_id", 1));
    database.getCollection("orders").drop();
    List<BsonDocument> events = events(database, start, 2, false);
    assertThat(events).extracting(ExpandedEventsIT::type).containsExactly("insert", "drop");
    assertThat(events.get(1).containsKey("collectionUUID")).isFalse();
  }

  // A collection's stream sees the expanded events of its collection only.
  @Test
  void aCollectionsStreamSeesItsOwnDdl() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.createCollection("orders");
    database.createCollection("others");
    database.getCollection("others").createIndex(Indexes.ascending("x"));
    database.getCollection("orders").createIndex(Indexes.ascending("customer"));
    try (var cursor = database.getCollection("orders").watch(BsonDocument.class).startAtOperationTime(start).showExpandedEvents(true).withDocumentClass(BsonDocument.class)
        .cursor()) {
      List<BsonDocument> events = Deployment.takeRaw(cursor, 2);
      assertThat(events).extracting(ExpandedEventsIT::type).containsExactly("create", "createIndexes");
      assertThat(events).allMatch(e -> e.getDocument("ns").getString("coll").getValue().equals("orders"));
    }
  }
}
