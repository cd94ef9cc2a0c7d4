package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoCommandException;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.source.ResumeTokens;
import java.util.List;
import java.util.function.Consumer;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Where a change stream starts, and what the server refuses: the resume options and their errors
 * (https://www.mongodb.com/docs/manual/changeStreams/#resume-a-change-stream), and the position
 * an idle stream reports (postBatchResumeToken, change-streams spec "Updating the Cached Resume
 * Token").
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ResumeOptionsIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  /** A collection with one insert, and that insert's resume token. */
  private record Written(MongoCollection<Document> collection, BsonDocument token, BsonTimestamp time) {}

  private Written oneInsert(MongoDatabase database, String name) {
    MongoCollection<Document> collection = database.getCollection(name);
    BsonTimestamp before = deployment.operationTime();
    collection.insertOne(new Document("_id", 1));
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = collection.watch().startAtOperationTime(before).cursor()) {
      ChangeStreamDocument<Document> insert = Deployment.take(cursor, 1).get(0);
      return new Written(collection, insert.getResumeToken(), insert.getClusterTime());
    }
  }

  private static Document aggregate(MongoDatabase database, String collection, Document changeStream) {
    return database.runCommand(new Document("aggregate", collection)
        .append("pipeline", List.of(new Document("$changeStream", changeStream)))
        .append("cursor", new Document()));
  }

  private static Consumer<MongoCommandException> code(int code, String name) {
    return e -> {
      assertThat(e.getErrorCode()).isEqualTo(code);
      assertThat(e.getErrorCodeName()).isEqualTo(name);
    };
  }

  // The server refuses both tokens: code 50865, "Do not specify both 'resumeAfter' and 'startAfter'"
  // (DocumentSourceChangeStream::assertIsLegalSpecification)
  @Test
  void resumeAfterWithStartAfterIsRefused() {
    MongoDatabase database = deployment.database();
    Written written = oneInsert(database, "orders");
    assertThatThrownBy(() -> aggregate(database, "orders",
            new Document("resumeAfter", written.token()).append("startAfter", written.token())))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> {
          assertThat(e.getErrorCode()).isEqualTo(50865);
          assertThat(e.getErrorMessage()).contains("resumeAfter", "startAfter");
        });
  }

  // Only one type of resume option: code 40674 (DocumentSourceChangeStream::assertIsLegalSpecification)
  @Test
  void aTokenWithStartAtOperationTimeIsRefused() {
    MongoDatabase database = deployment.database();
    Written written = oneInsert(database, "orders");
    for (String option : List.of("resumeAfter", "startAfter")) {
      assertThatThrownBy(() -> aggregate(database, "orders",
              new Document(option, written.token()).append("startAtOperationTime", written.time())))
          .as(option)
          .isInstanceOfSatisfying(MongoCommandException.class, e -> {
            assertThat(e.getErrorCode()).isEqualTo(40674);
            assertThat(e.getErrorMessage()).contains("Only one type of resume option");
          });
    }
  }

  // ChangeStreamHistoryLost 286: the start is before the oldest entry of the oplog
  // (https://www.mongodb.com/docs/manual/reference/error-codes/, "ChangeStreamHistoryLost")
  @Test
  void startAtOperationTimeBeforeTheOplogIsHistoryLost() {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    orders.insertOne(new Document("_id", 1));
    assertThatThrownBy(() -> orders.watch().startAtOperationTime(new BsonTimestamp(1, 0)).cursor().close())
        .isInstanceOfSatisfying(MongoCommandException.class, code(286, "ChangeStreamHistoryLost"));
  }

  // ChangeStreamFatalError 280, "cannot resume stream; the resume token was not found": the token's
  // event is not one this stream reports (MongoDB checks that the resumed stream meets its token)
  @Test
  void aTokenOfAnotherCollectionIsNotFound() {
    MongoDatabase database = deployment.database();
    Written other = oneInsert(database, "customers");
    MongoCollection<Document> orders = database.getCollection("orders");
    orders.insertOne(new Document("_id", 2));
    assertThatThrownBy(() -> {
          try (var cursor = orders.watch().resumeAfter(other.token()).cursor()) {
            Deployment.take(cursor, 1);
          }
        })
        .isInstanceOfSatisfying(MongoCommandException.class, e -> {
          code(280, "ChangeStreamFatalError").accept(e);
          assertThat(e.getErrorMessage()).contains("resume token was not found");
        });
    // The same token resumes the stream of its database.
    try (var cursor = database.watch().resumeAfter(other.token()).cursor()) {
      assertThat(Deployment.take(cursor, 1).get(0).getNamespace().getCollectionName()).isEqualTo("orders");
    }
  }

  // ChangeStreamFatalError 280: a stage that modifies or removes the event's _id (its resume token)
  // is refused by the server (https://www.mongodb.com/docs/manual/changeStreams/#modify-change-stream-output)
  @Test
  void aPipelineThatRemovesTheIdIsRefused() {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    BsonTimestamp start = deployment.operationTime();
    orders.insertOne(new Document("_id", 1));
    // The event is in the first batch here, so the aggregate fails; a later event fails its getMore.
    assertThatThrownBy(() -> {
          try (var cursor = orders.watch(List.of(Aggregates.project(Projections.exclude("_id")))).startAtOperationTime(start)
              .withDocumentClass(BsonDocument.class).cursor()) {
            Deployment.takeRaw(cursor, 1);
          }
        })
        .isInstanceOfSatisfying(MongoCommandException.class, e -> {
          code(280, "ChangeStreamFatalError").accept(e);
          assertThat(e.getErrorMessage()).contains("_id");
        });
    try (var cursor = orders.watch(List.of(Aggregates.project(Projections.include("operationType")))).startAtOperationTime(start)
        .withDocumentClass(BsonDocument.class).cursor()) {
      assertThat(Deployment.takeRaw(cursor, 1).get(0).keySet()).containsExactly("_id", "operationType");
    }
  }

  // An idle stream's postBatchResumeToken never stands before its start (issue 19, defect 4), also on
  // a server that has written nothing yet; resuming from it neither skips nor repeats.
  @Test
  void anIdleStreamStartedNowReportsItsStartAndResumesFromItWithoutAGap() {
    try (Deployment fresh = Deployment.start()) {
      idleStreamReportsItsStart(fresh);
    }
    idleStreamReportsItsStart(deployment);
  }

  private static void idleStreamReportsItsStart(Deployment deployment) {
    MongoCollection<Document> orders = deployment.database().getCollection("orders");
    BsonTimestamp now = deployment.operationTime();
    BsonDocument idle;
    try (var cursor = orders.watch().startAtOperationTime(now).cursor()) {
      assertThat(cursor.tryNext()).isNull();
      idle = cursor.getResumeToken();
    }
    assertThat(idle).isNotNull();
    assertThat(ResumeTokens.clusterTime(idle)).isGreaterThanOrEqualTo(now);

    orders.insertOne(new Document("_id", 1));
    BsonDocument afterEvent;
    try (var cursor = orders.watch().resumeAfter(idle).cursor()) {
      ChangeStreamDocument<Document> insert = Deployment.take(cursor, 1).get(0);
      assertThat(insert.getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 1}"));
      assertThat(cursor.tryNext()).isNull();
      afterEvent = cursor.getResumeToken();
      assertThat(ResumeTokens.clusterTime(afterEvent)).isGreaterThanOrEqualTo(insert.getClusterTime());
    }
    orders.insertOne(new Document("_id", 2));
    try (var cursor = orders.watch().resumeAfter(afterEvent).cursor()) {
      assertThat(Deployment.take(cursor, 1).get(0).getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 2}"));
    }
  }

  // startAtOperationTime includes events at that time (https://www.mongodb.com/docs/manual/reference/method/db.collection.watch/)
  @Test
  void startAtOperationTimeIncludesItsOwnTime() {
    Written written = oneInsert(deployment.database(), "orders");
    try (var cursor = written.collection().watch().startAtOperationTime(written.time()).cursor()) {
      assertThat(Deployment.take(cursor, 1).get(0).getResumeToken()).isEqualTo(written.token());
    }
  }
}
