package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import io.tidemark.embedded.EmbeddedSettings;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Where the embedded server differs from a MongoDB 6.0 replica set on purpose: each test pins one
 * row of the table in docs/embedded-mongodb.md ("Where it differs from MongoDB on purpose"). On a
 * real replica set these tests are skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DocumentedDifferencesIT {
  private final Deployment deployment = Deployment.start();

  @BeforeAll
  void embeddedOnly() {
    assumeTrue(deployment.embedded(), "documents the embedded server, not " + Deployment.URI_ENV);
  }

  @AfterAll
  void stop() {
    deployment.close();
  }

  private static MongoCollection<Document> seeded(MongoDatabase database) {
    MongoCollection<Document> orders = database.getCollection("orders");
    orders.insertOne(new Document("_id", "b").append("n", 1));
    return orders;
  }

  /** MongoDB fails the conflicting write (or makes a write outside wait); here the later commit fails. */
  @Test
  void aWriteOutsideATransactionNeverWaitsAndFailsTheTransactionsCommit() {
    MongoCollection<Document> orders = seeded(deployment.database());
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      orders.updateOne(session, Filters.eq("_id", "b"), Updates.set("by", "transaction"));
      orders.updateOne(Filters.eq("_id", "b"), Updates.set("by", "outside"));
      assertThatThrownBy(session::commitTransaction).isInstanceOfSatisfying(MongoException.class, e -> {
        assertThat(e.getCode()).isEqualTo(112);
        assertThat(e.hasErrorLabel(MongoException.TRANSIENT_TRANSACTION_ERROR_LABEL)).isTrue();
      });
    }
    assertThat(orders.find().first()).containsEntry("by", "outside");
  }

  /** MongoDB reads every collection as of the transaction's start; here each as of the transaction's first touch. */
  @Test
  void aTransactionSeesEachCollectionAsOfItsFirstTouch() {
    MongoDatabase database = deployment.database();
    MongoCollection<Document> orders = seeded(database);
    MongoCollection<Document> lines = database.getCollection("lines");
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      assertThat(orders.countDocuments(session)).isEqualTo(1);
      lines.insertOne(new Document("_id", 1));
      orders.insertOne(new Document("_id", "later"));
      assertThat(lines.countDocuments(session)).as("lines, first touched after the insert").isEqualTo(1);
      assertThat(orders.countDocuments(session)).as("orders, first touched before the insert").isEqualTo(1);
      session.abortTransaction();
    }
  }

  /** MongoDB splits an event of a transaction like any other; here one over the limit is BSONObjectTooLarge. */
  @Test
  void anEventOfATransactionOverTheLimitIsNotSplit() {
    try (Deployment small = Deployment.start(EmbeddedSettings.defaults().withMaxEventBytes(16 * 1024))) {
      MongoCollection<Document> orders = small.database().getCollection("orders");
      BsonTimestamp start = small.afterLastWrite();
      try (ClientSession session = small.client().startSession()) {
        session.startTransaction();
        orders.insertOne(session, new Document("_id", 1).append("big", "x".repeat(32 * 1024)));
        session.commitTransaction();
      }
      assertThatThrownBy(() -> {
            try (var cursor = orders.watch(List.of(new Document("$changeStreamSplitLargeEvent", new Document())))
                .startAtOperationTime(start).cursor()) {
              Deployment.take(cursor, 1);
            }
          })
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(10334));
    }
  }

  /** MongoDB 4.4+ reports a topologyVersion and drivers stream hello; here drivers poll every heartbeatFrequencyMS. */
  @Test
  void helloHasNoTopologyVersion() {
    Document hello = deployment.client().getDatabase("admin").runCommand(new Document("hello", 1));
    assertThat(hello).doesNotContainKey("topologyVersion");
    assertThat(deployment.client().getClusterDescription().getServerDescriptions().get(0).getTopologyVersion()).isNull();
  }

  /** MongoDB signs $clusterTime with a key; the embedded server has none and sends a zero signature. */
  @Test
  void clusterTimeIsNotSigned() {
    Document signature = deployment.client().getDatabase("admin").runCommand(new Document("ping", 1))
        .get("$clusterTime", Document.class).get("signature", Document.class);
    assertThat(signature.get("keyId", Number.class).longValue()).isZero();
    assertThat(((org.bson.types.Binary) signature.get("hash")).getData()).containsOnly((byte) 0);
  }

  /**
   * MongoDB's history starts with an "initiating set" oplog entry; here it starts at the server's
   * first start, kept beside the oplog, which is empty until the first write. Nor does an idle
   * server write the periodic no-ops with which MongoDB moves an idle stream's position on.
   */
  @Test
  void historyStartsAtTheFirstStartWithoutAnOplogEntryAndAnIdleServerWritesNothing() {
    try (Deployment fresh = Deployment.start()) {
      var oplog = fresh.client().getDatabase("local").getCollection("oplog.rs");
      assertThat(oplog.countDocuments()).isZero();
      MongoCollection<Document> orders = fresh.database().getCollection("orders");
      try (var cursor = orders.watch().startAtOperationTime(fresh.operationTime()).maxAwaitTime(100, java.util.concurrent.TimeUnit.MILLISECONDS)
          .cursor()) {
        assertThat(cursor.tryNext()).isNull();
        BsonDocument position = cursor.getResumeToken();
        assertThat(cursor.tryNext()).isNull();
        assertThat(cursor.getResumeToken()).isEqualTo(position);
      }
      assertThat(oplog.countDocuments()).isZero();
      assertThatThrownBy(() -> orders.watch().startAtOperationTime(new BsonTimestamp(1, 0)).cursor().close())
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(286));
    }
  }

  /** MongoDB reports $push onto an existing empty array as 'tags.0'; the embedded server as the whole array. */
  @Test
  void pushOntoAnEmptyArrayIsReportedWhole() {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    BsonTimestamp start = deployment.afterLastWrite();
    orders.insertOne(new Document("_id", 1).append("tags", List.of()));
    orders.updateOne(Filters.eq("_id", 1), Updates.push("tags", "x"));
    try (var cursor = orders.watch().startAtOperationTime(start).cursor()) {
      assertThat(Deployment.take(cursor, 2).get(1).getUpdateDescription().getUpdatedFields())
          .isEqualTo(BsonDocument.parse("{tags: ['x']}"));
    }
  }

  /** MongoDB logs a pipeline update whose difference outgrows the document as a replacement (a replace event); here it is always an update. */
  @Test
  void aPipelineUpdateIsAlwaysAnUpdateEvent() {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    BsonTimestamp start = deployment.afterLastWrite();
    orders.insertOne(new Document("_id", 1).append("a", 1).append("b", 2));
    orders.updateOne(Filters.eq("_id", 1), List.of(Aggregates.replaceWith(new Document("c", 3).append("d", 4))));
    try (var cursor = orders.watch().startAtOperationTime(start).cursor()) {
      var update = Deployment.take(cursor, 2).get(1);
      assertThat(update.getOperationTypeString()).isEqualTo("update");
      assertThat(update.getUpdateDescription().getUpdatedFields()).isEqualTo(BsonDocument.parse("{c: 3, d: 4}"));
      assertThat(update.getUpdateDescription().getRemovedFields()).containsExactlyInAnyOrder("a", "b");
    }
  }

  /**
   * MongoDB finds that a token is of another collection when the resumed stream meets its first
   * event; the embedded server when the stream opens, with the same error (280).
   */
  @Test
  void aTokenOfAnotherCollectionFailsWhenTheStreamOpens() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.afterLastWrite();
    database.getCollection("customers").insertOne(new Document("_id", 1));
    BsonDocument token;
    try (var cursor = database.getCollection("customers").watch().startAtOperationTime(start).cursor()) {
      token = Deployment.take(cursor, 1).get(0).getResumeToken();
    }
    assertThatThrownBy(() -> database.getCollection("orders").watch().resumeAfter(token).cursor().close())
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(280));
  }

  /**
   * MongoDB keeps pre- and post-images in {@code config.system.preimages}; the embedded server in
   * the change's own oplog entry ({@code preImage}, {@code postImage}), committed with it and
   * truncated with it.
   */
  @Test
  void preAndPostImagesAreKeptInTheOplogEntry() {
    MongoDatabase database = deployment.database();
    database.createCollection("orders", new com.mongodb.client.model.CreateCollectionOptions()
        .changeStreamPreAndPostImagesOptions(new com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions(true)));
    database.getCollection("orders").insertOne(new Document("_id", 1).append("a", 1));
    database.getCollection("orders").updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    Document entry = deployment.client().getDatabase("local").getCollection("oplog.rs")
        .find(Filters.and(Filters.eq("ns", database.getName() + ".orders"), Filters.eq("op", "u"))).first();
    assertThat(entry.get("preImage")).isEqualTo(new Document("_id", 1).append("a", 1));
    assertThat(entry.get("postImage")).isEqualTo(new Document("_id", 1).append("a", 2));
    assertThat(deployment.client().getDatabase("config").getCollection("system.preimages").countDocuments()).isZero();
  }

  /** MongoDB adds collectionUUID to every event of a stream with showExpandedEvents; the embedded server to the DDL events only. */
  @Test
  void onlyDdlEventsCarryTheCollectionUuid() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.afterLastWrite();
    database.getCollection("orders").insertOne(new Document("_id", 1));
    try (var cursor = database.watch().startAtOperationTime(start).showExpandedEvents(true).withDocumentClass(BsonDocument.class).cursor()) {
      List<BsonDocument> events = Deployment.takeRaw(cursor, 2);
      assertThat(events).extracting(e -> e.getString("operationType").getValue()).containsExactly("create", "insert");
      assertThat(events.get(0).containsKey("collectionUUID")).isTrue();
      assertThat(events.get(1).containsKey("collectionUUID")).isFalse();
    }
  }

  /**
   * An update that matches nothing (without upsert) creates no collection in MongoDB;
   * mongo-java-server creates it, so a stream with showExpandedEvents sees its create.
   */
  @Test
  void anUpdateThatMatchesNothingCreatesItsCollection() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.afterLastWrite();
    database.getCollection("orders").updateOne(Filters.eq("_id", 1), Updates.set("a", 1));
    assertThat(database.listCollectionNames().into(new java.util.ArrayList<>())).containsExactly("orders");
    database.getCollection("marker").insertOne(new Document("_id", 1));
    try (var cursor = database.watch().startAtOperationTime(start).showExpandedEvents(true).withDocumentClass(BsonDocument.class).cursor()) {
      assertThat(Deployment.takeRaw(cursor, 1).get(0).getDocument("ns").getString("coll").getValue()).isEqualTo("orders");
    }
  }

  /**
   * MongoDB logs the creation of a collection a transaction writes to first inside the
   * transaction's entry (a create event); the embedded server creates it at commit and logs no
   * create.
   */
  @Test
  void aCollectionMadeByATransactionHasNoCreateEvent() {
    MongoDatabase database = deployment.database();
    database.getCollection("existing").insertOne(new Document("_id", 0));
    BsonTimestamp start = deployment.afterLastWrite();
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      database.getCollection("fresh").insertOne(session, new Document("_id", 1));
      session.commitTransaction();
    }
    try (var cursor = database.watch().startAtOperationTime(start).showExpandedEvents(true).withDocumentClass(BsonDocument.class).cursor()) {
      assertThat(Deployment.takeRaw(cursor, 1).get(0).getString("operationType").getValue()).isEqualTo("insert");
    }
  }
}
