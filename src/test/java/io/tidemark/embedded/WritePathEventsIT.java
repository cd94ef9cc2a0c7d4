package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoBulkWriteException;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.DeleteOneModel;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndReplaceOptions;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.InsertOneModel;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.Document;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Every write path produces its change event, in the shape a replica set sends
 * (https://www.mongodb.com/docs/manual/reference/change-events/): findAndModify
 * (findOneAndUpdate, findOneAndReplace, findOneAndDelete) and upserts through it, upserts
 * through update and replace, bulk writes; a write that fails produces none.
 */
class WritePathEventsIT {
  private EmbeddedMongo mongo;
  private MongoClient client;
  private MongoCollection<Document> orders;
  private MongoChangeStreamCursor<ChangeStreamDocument<Document>> events;

  @BeforeEach
  void start() {
    mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
    client = MongoClients.create(mongo.connectionString());
    orders = client.getDatabase("shop").getCollection("orders");
    events = orders.watch().cursor();
  }

  @AfterEach
  void stop() {
    events.close();
    client.close();
    mongo.close();
  }

  /** The next {@code n} events; fails after 10 s without them. */
  private List<ChangeStreamDocument<Document>> next(int n) {
    List<ChangeStreamDocument<Document>> taken = new ArrayList<>();
    Await.until(Duration.ofSeconds(10), () -> {
      ChangeStreamDocument<Document> event = events.tryNext();
      if (event != null) taken.add(event);
      return taken.size() >= n;
    }, () -> n + " events; got " + taken);
    return taken;
  }

  /** Whether another event follows: a marker insert must be the very next one. */
  private void assertNoOtherEvent() {
    orders.insertOne(new Document("_id", "marker"));
    assertThat(next(1).get(0).getDocumentKey()).isEqualTo(new BsonDocument("_id", new org.bson.BsonString("marker")));
  }

  @Test
  void findOneAndUpdateIsAnUpdateWithItsUpdateDescription() {
    orders.insertOne(new Document("_id", 1).append("n", 1).append("gone", true));
    Document after = orders.findOneAndUpdate(Filters.eq("_id", 1), Updates.combine(Updates.inc("n", 1), Updates.unset("gone")),
        new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER));
    assertThat(after).isEqualTo(new Document("_id", 1).append("n", 2));

    List<ChangeStreamDocument<Document>> taken = next(2);
    ChangeStreamDocument<Document> update = taken.get(1);
    assertThat(update.getOperationTypeString()).isEqualTo("update");
    assertThat(update.getDocumentKey()).isEqualTo(new BsonDocument("_id", new BsonInt32(1)));
    assertThat(update.getUpdateDescription().getUpdatedFields()).isEqualTo(BsonDocument.parse("{n: 2}"));
    assertThat(update.getUpdateDescription().getRemovedFields()).containsExactly("gone");
    assertNoOtherEvent();
  }

  @Test
  void findOneAndReplaceIsAReplace() {
    orders.insertOne(new Document("_id", 2).append("a", 1));
    Document before = orders.findOneAndReplace(Filters.eq("_id", 2), new Document("b", 2));
    assertThat(before).isEqualTo(new Document("_id", 2).append("a", 1));

    ChangeStreamDocument<Document> replace = next(2).get(1);
    assertThat(replace.getOperationTypeString()).isEqualTo("replace");
    assertThat(replace.getDocumentKey()).isEqualTo(new BsonDocument("_id", new BsonInt32(2)));
    assertThat(replace.getFullDocument()).isEqualTo(new Document("_id", 2).append("b", 2));
    assertNoOtherEvent();
  }

  @Test
  void findOneAndDeleteIsADelete() {
    orders.insertOne(new Document("_id", 3));
    assertThat(orders.findOneAndDelete(Filters.eq("_id", 3))).isEqualTo(new Document("_id", 3));

    ChangeStreamDocument<Document> delete = next(2).get(1);
    assertThat(delete.getOperationTypeString()).isEqualTo("delete");
    assertThat(delete.getDocumentKey()).isEqualTo(new BsonDocument("_id", new BsonInt32(3)));
    assertThat(orders.findOneAndDelete(Filters.eq("_id", 3))).as("nothing left to delete").isNull();
    assertNoOtherEvent();
  }

  @Test
  void upsertsThroughFindAndModifyUpdateAndReplaceAreInserts() {
    orders.findOneAndUpdate(Filters.eq("_id", 10), Updates.set("via", "findOneAndUpdate"), new FindOneAndUpdateOptions().upsert(true));
    orders.findOneAndReplace(Filters.eq("_id", 11), new Document("via", "findOneAndReplace"), new FindOneAndReplaceOptions().upsert(true));
    orders.updateOne(Filters.eq("_id", 12), Updates.set("via", "updateOne"), new UpdateOptions().upsert(true));
    orders.replaceOne(Filters.eq("_id", 13), new Document("via", "replaceOne"), new ReplaceOptions().upsert(true));

    List<ChangeStreamDocument<Document>> inserts = next(4);
    assertThat(inserts).extracting(ChangeStreamDocument::getOperationTypeString).containsOnly("insert");
    assertThat(inserts).extracting(event -> event.getFullDocument().getString("via"))
        .containsExactly("findOneAndUpdate", "findOneAndReplace", "updateOne", "replaceOne");
    assertThat(inserts).extracting(event -> event.getDocumentKey().getInt32("_id").getValue()).containsExactly(10, 11, 12, 13);
    assertNoOtherEvent();
  }

  @Test
  void aBulkWriteHasAnEventPerWriteInOrderAndAFailedInsertNone() {
    orders.insertOne(new Document("_id", 20).append("n", 0));
    assertThatThrownBy(() -> orders.bulkWrite(List.of(
            new InsertOneModel<>(new Document("_id", 21)),
            new UpdateOneModel<>(Filters.eq("_id", 20), Updates.inc("n", 5)),
            new ReplaceOneModel<>(Filters.eq("_id", 21), new Document("r", true)),
            new DeleteOneModel<>(Filters.eq("_id", 20)),
            new InsertOneModel<>(new Document("_id", 21)))))
        .isInstanceOf(MongoBulkWriteException.class);

    List<ChangeStreamDocument<Document>> taken = next(5);
    assertThat(taken).extracting(ChangeStreamDocument::getOperationTypeString).containsExactly("insert", "insert", "update", "replace", "delete");
    assertThat(taken.get(2).getUpdateDescription().getUpdatedFields()).isEqualTo(BsonDocument.parse("{n: 5}"));
    assertThat(taken).extracting(ChangeStreamDocument::getClusterTime).isSorted().doesNotHaveDuplicates();
    assertNoOtherEvent();
  }

  @Test
  void anInsertManyWithADuplicateRecordsOnlyWhatWasInserted() {
    orders.insertOne(new Document("_id", 31));
    assertThatThrownBy(() -> orders.insertMany(List.of(new Document("_id", 30), new Document("_id", 31), new Document("_id", 32)),
            new com.mongodb.client.model.InsertManyOptions().ordered(false)))
        .isInstanceOf(MongoBulkWriteException.class);

    List<ChangeStreamDocument<Document>> taken = next(3);
    assertThat(taken).extracting(event -> event.getDocumentKey().getInt32("_id").getValue()).containsExactly(31, 30, 32);
    assertNoOtherEvent();
  }

  @Test
  void anUpdateManyHasAnEventPerChangedDocumentAndNoneForAnUnchangedOne() {
    orders.insertMany(List.of(new Document("_id", 40).append("s", "a"), new Document("_id", 41).append("s", "b"),
        new Document("_id", 42).append("s", "a")));
    orders.updateMany(Filters.exists("s"), Updates.set("s", "a"));

    List<ChangeStreamDocument<Document>> taken = next(4);
    assertThat(taken.get(3).getOperationTypeString()).isEqualTo("update");
    assertThat(taken.get(3).getDocumentKey().getInt32("_id").getValue()).isEqualTo(41);
    assertNoOtherEvent();
  }
}
