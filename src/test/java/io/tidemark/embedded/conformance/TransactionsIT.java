package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoException;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Multi-document transactions on the one node (https://www.mongodb.com/docs/manual/core/transactions/):
 * writes invisible outside until commit, gone on abort; one oplog entry per transaction; change
 * events that carry the transaction's lsid and txnNumber and share its cluster time
 * (https://www.mongodb.com/docs/manual/reference/change-events/).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TransactionsIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  private static MongoDatabase seeded(MongoDatabase database) {
    database.getCollection("orders").insertMany(List.of(
        new Document("_id", "b").append("n", 1), new Document("_id", "c").append("n", 1)));
    return database;
  }

  // "Until a transaction commits, the data changes made in the transaction are not visible outside the transaction."
  @Test
  void writesAreVisibleOutsideOnlyAfterCommitAndInsideAtOnce() {
    MongoDatabase database = seeded(deployment.database());
    MongoCollection<Document> orders = database.getCollection("orders");
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      orders.insertOne(session, new Document("_id", "a").append("n", 1));
      orders.updateOne(session, Filters.eq("_id", "b"), Updates.inc("n", 1));
      orders.deleteOne(session, Filters.eq("_id", "c"));
      database.getCollection("lines").insertOne(session, new Document("_id", 1).append("order", "a"));

      assertThat(orders.find(session).into(new java.util.ArrayList<>()))
          .containsExactlyInAnyOrder(new Document("_id", "a").append("n", 1), new Document("_id", "b").append("n", 2));
      assertThat(orders.find().into(new java.util.ArrayList<>()))
          .containsExactlyInAnyOrder(new Document("_id", "b").append("n", 1), new Document("_id", "c").append("n", 1));
      assertThat(database.getCollection("lines").countDocuments()).isZero();

      session.commitTransaction();
    }
    assertThat(orders.find().into(new java.util.ArrayList<>()))
        .containsExactlyInAnyOrder(new Document("_id", "a").append("n", 1), new Document("_id", "b").append("n", 2));
    assertThat(database.getCollection("lines").countDocuments()).isEqualTo(1);
  }

  // Aborted: "all data changes made in the transaction are discarded without ever becoming visible"
  @Test
  void anAbortedTransactionLeavesNothing() {
    MongoDatabase database = seeded(deployment.database());
    MongoCollection<Document> orders = database.getCollection("orders");
    try (var cursor = orders.watch().cursor()) {
      try (ClientSession session = deployment.client().startSession()) {
        session.startTransaction();
        orders.insertOne(session, new Document("_id", "a"));
        orders.deleteMany(session, new Document());
        session.abortTransaction();
      }
      assertThat(orders.find().into(new java.util.ArrayList<>())).extracting(d -> d.get("_id")).containsExactlyInAnyOrder("b", "c");
      orders.insertOne(new Document("_id", "after"));
      ChangeStreamDocument<Document> next = Deployment.take(cursor, 1).get(0);
      assertThat(next.getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 'after'}"));
    }
  }

  // A replica set logs a committed transaction as one applyOps entry with its lsid and txnNumber; its events
  // share the entry's clusterTime and carry lsid and txnNumber, each with a token of its own to resume after.
  @Test
  void aTransactionIsOneOplogEntryAndEventsCarryItsSession() {
    MongoDatabase database = seeded(deployment.database());
    BsonTimestamp start = deployment.afterLastWrite();
    BsonDocument lsid;
    long txnNumber;
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      database.getCollection("orders").insertOne(session, new Document("_id", "a"));
      database.getCollection("orders").updateOne(session, Filters.eq("_id", "b"), Updates.set("paid", true));
      database.getCollection("lines").insertOne(session, new Document("_id", 1));
      session.commitTransaction();
      lsid = session.getServerSession().getIdentifier();
      txnNumber = session.getServerSession().getTransactionNumber();
    }
    List<BsonDocument> entries = deployment.client().getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
        .find(Filters.and(Filters.gte("ts", start), Filters.exists("o.applyOps"))).into(new java.util.ArrayList<>());
    assertThat(entries).hasSize(1);
    assertThat(entries.get(0).getString("op").getValue()).isEqualTo("c");
    assertThat(entries.get(0).getDocument("o").getArray("applyOps")).hasSize(3);
    assertThat(entries.get(0).getDocument("lsid").get("id")).isEqualTo(lsid.get("id"));
    assertThat(entries.get(0).getNumber("txnNumber").longValue()).isEqualTo(txnNumber);

    try (var cursor = database.watch().startAtOperationTime(start).withDocumentClass(BsonDocument.class).cursor()) {
      List<BsonDocument> events = Deployment.takeRaw(cursor, 3);
      assertThat(events).extracting(e -> e.getString("operationType").getValue()).containsExactly("insert", "update", "insert");
      assertThat(events).extracting(e -> e.getDocument("ns").getString("coll").getValue()).containsExactly("orders", "orders", "lines");
      assertThat(events).extracting(e -> e.getTimestamp("clusterTime")).containsOnly(entries.get(0).getTimestamp("ts"));
      assertThat(events).allSatisfy(e -> {
        assertThat(e.getDocument("lsid").get("id")).isEqualTo(lsid.get("id"));
        assertThat(e.getNumber("txnNumber").longValue()).isEqualTo(txnNumber);
      });
      assertThat(events).extracting(e -> e.getDocument("_id")).doesNotHaveDuplicates();
      try (var rest = database.watch().resumeAfter(events.get(0).getDocument("_id")).withDocumentClass(BsonDocument.class).cursor()) {
        assertThat(Deployment.takeRaw(rest, 2)).extracting(e -> e.getDocument("_id"))
            .containsExactly(events.get(1).getDocument("_id"), events.get(2).getDocument("_id"));
      }
    }
    try (var cursor = database.getCollection("lines").watch().startAtOperationTime(start).cursor()) {
      assertThat(Deployment.take(cursor, 1).get(0).getDocumentKey()).isEqualTo(BsonDocument.parse("{_id: 1}"));
    }
  }

  // findAndModify in a transaction answers as outside one (https://www.mongodb.com/docs/manual/reference/command/findAndModify/),
  // and its writes are the transaction's events
  @Test
  void findAndModifyInATransaction() {
    MongoDatabase database = seeded(deployment.database());
    MongoCollection<Document> orders = database.getCollection("orders");
    BsonTimestamp start = deployment.afterLastWrite();
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      Document before = orders.findOneAndUpdate(session, Filters.eq("_id", "b"), Updates.inc("n", 1));
      Document after = orders.findOneAndUpdate(session, Filters.eq("_id", "b"), Updates.inc("n", 1),
          new com.mongodb.client.model.FindOneAndUpdateOptions().returnDocument(com.mongodb.client.model.ReturnDocument.AFTER)
              .projection(new Document("n", 1).append("_id", 0)));
      Document upserted = orders.findOneAndUpdate(session, Filters.eq("_id", "u"), Updates.set("n", 9),
          new com.mongodb.client.model.FindOneAndUpdateOptions().upsert(true));
      Document removed = orders.findOneAndDelete(session, Filters.eq("_id", "c"));
      session.commitTransaction();
      assertThat(before).isEqualTo(new Document("_id", "b").append("n", 1));
      assertThat(after).isEqualTo(new Document("n", 3));
      assertThat(upserted).isNull();
      assertThat(removed).isEqualTo(new Document("_id", "c").append("n", 1));
    }
    try (var cursor = orders.watch().startAtOperationTime(start).cursor()) {
      assertThat(Deployment.take(cursor, 4)).extracting(ChangeStreamDocument::getOperationTypeString)
          .containsExactly("update", "update", "insert", "delete");
    }
  }

  // The driver's convenient API retries and commits (https://www.mongodb.com/docs/manual/core/transactions-in-applications/)
  @Test
  void withTransactionCommits() {
    MongoDatabase database = seeded(deployment.database());
    try (ClientSession session = deployment.client().startSession()) {
      String result = session.withTransaction(() -> {
        Document b = database.getCollection("orders").find(session, Filters.eq("_id", "b")).first();
        database.getCollection("orders").updateOne(session, Filters.eq("_id", "b"), Updates.set("n", b.getInteger("n") + 10));
        return "done";
      });
      assertThat(result).isEqualTo("done");
    }
    assertThat(database.getCollection("orders").find(Filters.eq("_id", "b")).first()).containsEntry("n", 11);
  }

  // Two transactions that write the same document: one of them fails with a TransientTransactionError,
  // which a client retries (https://www.mongodb.com/docs/manual/core/transactions-in-applications/#transienttransactionerror)
  @Test
  void concurrentTransactionsOnOneDocumentLetOneFailTransiently() {
    MongoDatabase database = seeded(deployment.database());
    MongoCollection<Document> orders = database.getCollection("orders");
    try (ClientSession first = deployment.client().startSession(); ClientSession second = deployment.client().startSession()) {
      first.startTransaction();
      second.startTransaction();
      orders.updateOne(first, Filters.eq("_id", "b"), Updates.set("by", "first"));
      // MongoDB fails the second write at once; the embedded server fails the second commit (see DocumentedDifferencesIT).
      MongoException failure = null;
      try {
        orders.updateOne(second, Filters.eq("_id", "b"), Updates.set("by", "second"));
      } catch (MongoException e) {
        failure = e;
      }
      first.commitTransaction();
      if (failure == null) {
        try {
          second.commitTransaction();
        } catch (MongoException e) {
          failure = e;
        }
      }
      assertThat(failure).isNotNull();
      assertThat(failure.hasErrorLabel(MongoException.TRANSIENT_TRANSACTION_ERROR_LABEL)).isTrue();
      assertThat(failure.getCode()).isEqualTo(112);
    }
    assertThat(orders.find(Filters.eq("_id", "b")).first().getString("by")).isEqualTo("first");
  }

  // count is not allowed in a transaction: OperationNotSupportedInTransaction 263
  // (https://www.mongodb.com/docs/manual/core/transactions-operations/#restricted-operations)
  @Test
  void anOperationATransactionCannotRunIsRefused() {
    MongoDatabase database = seeded(deployment.database());
    try (ClientSession session = deployment.client().startSession()) {
      session.startTransaction();
      assertThatThrownBy(() -> database.runCommand(session, new Document("count", "orders")))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(263));
      session.abortTransaction();
    }
  }
}
