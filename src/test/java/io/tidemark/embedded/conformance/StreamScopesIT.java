package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoNamespace;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.OperationType;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import reactor.core.publisher.Flux;

/**
 * Streams of a collection, a database and the whole deployment
 * (https://www.mongodb.com/docs/manual/changeStreams/#watch-a-collection--database--or-deployment),
 * and how each ends: drop, rename, dropDatabase and invalidate
 * (https://www.mongodb.com/docs/manual/reference/change-events/).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class StreamScopesIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  private static List<String> types(List<ChangeStreamDocument<Document>> events) {
    return events.stream().map(ChangeStreamDocument::getOperationTypeString).toList();
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/drop/ and .../invalidate/ : a collection
  // stream ends with invalidate after its collection's drop; a database stream goes on
  @Test
  void dropEndsTheCollectionStreamButNotTheDatabaseStream() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.getCollection("orders").insertOne(new Document("_id", 1));
    database.getCollection("orders").drop();
    database.getCollection("customers").insertOne(new Document("_id", 2));
    try (var cursor = database.getCollection("orders").watch().startAtOperationTime(start).cursor()) {
      assertThat(types(Deployment.take(cursor, 3))).containsExactly("insert", "drop", "invalidate");
    }
    try (var cursor = database.watch().startAtOperationTime(start).cursor()) {
      List<ChangeStreamDocument<Document>> events = Deployment.take(cursor, 3);
      assertThat(types(events)).containsExactly("insert", "drop", "insert");
      assertThat(events.get(1).getNamespace()).isEqualTo(new MongoNamespace(database.getName(), "orders"));
    }
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/rename/ : rename with its target in `to`
  @Test
  void renameEndsTheCollectionStream() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.getCollection("orders").insertOne(new Document("_id", 1));
    database.getCollection("orders").renameCollection(new MongoNamespace(database.getName(), "archive"));
    try (var cursor = database.getCollection("orders").watch().startAtOperationTime(start).cursor()) {
      List<ChangeStreamDocument<Document>> events = Deployment.take(cursor, 3);
      assertThat(types(events)).containsExactly("insert", "rename", "invalidate");
      assertThat(events.get(1).getDestinationNamespace()).isEqualTo(new MongoNamespace(database.getName(), "archive"));
    }
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/dropDatabase/ : a database stream sees a
  // drop per collection, then dropDatabase, then invalidate
  @Test
  void dropDatabaseEndsTheDatabaseStreamAfterADropPerCollection() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.getCollection("a").insertOne(new Document("_id", 1));
    database.getCollection("b").insertOne(new Document("_id", 2));
    database.drop();
    try (var cursor = database.watch().startAtOperationTime(start).cursor()) {
      List<ChangeStreamDocument<Document>> events = Deployment.take(cursor, 6);
      assertThat(types(events)).containsExactly("insert", "insert", "drop", "drop", "dropDatabase", "invalidate");
      assertThat(events.subList(2, 4)).extracting(e -> e.getNamespace().getCollectionName()).containsExactlyInAnyOrder("a", "b");
      assertThat(events.get(4).getDatabaseName()).isEqualTo(database.getName());
      assertThat(events.get(5).getOperationType()).isEqualTo(OperationType.INVALIDATE);
    }
    try (var cursor = database.getCollection("a").watch().startAtOperationTime(start).cursor()) {
      assertThat(types(Deployment.take(cursor, 3))).containsExactly("insert", "drop", "invalidate");
    }
  }

  // https://www.mongodb.com/docs/manual/reference/method/Mongo.watch/ : every database but admin,
  // local and config; dropDatabase does not end it
  @Test
  void aDeploymentStreamSeesEveryDatabase() {
    MongoDatabase first = deployment.database();
    MongoDatabase second = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    first.getCollection("orders").insertOne(new Document("_id", 1));
    second.getCollection("orders").insertOne(new Document("_id", 2));
    first.drop();
    second.getCollection("orders").insertOne(new Document("_id", 3));
    // Only this test's databases: the deployment is shared with the other tests.
    var own = List.of(Aggregates.match(Filters.in("ns.db", first.getName(), second.getName())));
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = deployment.client().watch(own).startAtOperationTime(start).cursor()) {
      List<ChangeStreamDocument<Document>> events = Deployment.take(cursor, 5);
      assertThat(types(events)).containsExactly("insert", "insert", "drop", "dropDatabase", "insert");
      assertThat(events).extracting(ChangeStreamDocument::getDatabaseName)
          .containsExactly(first.getName(), second.getName(), first.getName(), first.getName(), second.getName());
    }
  }

  // The same through the reactive driver, resumed from a token of the deployment stream
  @Test
  void aDeploymentStreamResumesThroughTheReactiveDriver() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.getCollection("orders").insertMany(List.of(new Document("_id", 1), new Document("_id", 2), new Document("_id", 3)));
    var reactive = deployment.reactive();
    var own = List.of(Aggregates.match(Filters.eq("ns.db", database.getName())));
    List<ChangeStreamDocument<Document>> all = Flux.from(reactive.watch(own).startAtOperationTime(start)).take(3).collectList()
        .block(Deployment.WAIT);
    List<ChangeStreamDocument<Document>> rest = Flux.from(reactive.watch(own).resumeAfter(all.get(0).getResumeToken())).take(2)
        .collectList().block(Deployment.WAIT);
    assertThat(rest).extracting(e -> e.getDocumentKey()).containsExactly(BsonDocument.parse("{_id: 2}"), BsonDocument.parse("{_id: 3}"));
  }

  // startAfter an invalidate starts a new stream; resumeAfter it is InvalidResumeToken 260
  // (https://www.mongodb.com/docs/manual/changeStreams/#startafter-for-change-streams)
  @Test
  void afterAnInvalidateOnlyStartAfterResumes() {
    MongoDatabase database = deployment.database();
    BsonTimestamp start = deployment.operationTime();
    database.getCollection("orders").insertOne(new Document("_id", 1));
    database.getCollection("orders").drop();
    BsonDocument invalidate;
    try (var cursor = database.getCollection("orders").watch().startAtOperationTime(start).cursor()) {
      invalidate = Deployment.take(cursor, 3).get(2).getResumeToken();
    }
    assertThatThrownBy(() -> database.getCollection("orders").watch().resumeAfter(invalidate).cursor().close())
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(260));
    database.getCollection("orders").insertOne(new Document("_id", 2));
    try (var cursor = database.getCollection("orders").watch().startAfter(invalidate).cursor()) {
      assertThat(Deployment.take(cursor, 1).get(0).getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 2}"));
    }
  }

  // A deployment stream is opened on admin with allChangesForCluster, and only there: InvalidOptions 72
  // elsewhere; a stream on admin without it is InvalidNamespace 73 (DocumentSourceChangeStream::assertIsLegalSpecification)
  @Test
  void allChangesForClusterOnlyOnAdmin() {
    Document cluster = new Document("$changeStream", new Document("allChangesForCluster", true));
    assertThatThrownBy(() -> deployment.database().runCommand(new Document("aggregate", 1).append("pipeline", List.of(cluster))
            .append("cursor", new Document())))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(72));
    assertThatThrownBy(() -> deployment.client().getDatabase("admin").runCommand(new Document("aggregate", 1)
            .append("pipeline", List.of(new Document("$changeStream", new Document()))).append("cursor", new Document())))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(73));
  }
}
