package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.DeleteOneModel;
import com.mongodb.client.model.Field;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.InsertOneModel;
import com.mongodb.client.model.PushOptions;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.client.result.UpdateResult;
import java.util.List;
import org.bson.BsonDateTime;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The change event of every write path, in the shape MongoDB documents
 * (https://www.mongodb.com/docs/manual/reference/change-events/ and its pages per operation type).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChangeEventsIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  /** A collection of its own, and the time before anything was written to it. */
  private record Fresh(MongoCollection<Document> collection, BsonTimestamp start) {
    List<BsonDocument> raw(int n, FullDocument fullDocument) {
      try (var cursor = collection.watch(BsonDocument.class).fullDocument(fullDocument).startAtOperationTime(start)
          .withDocumentClass(BsonDocument.class).cursor()) {
        return Deployment.takeRaw(cursor, n);
      }
    }

    List<BsonDocument> raw(int n) {
      return raw(n, FullDocument.DEFAULT);
    }
  }

  private Fresh fresh() {
    MongoCollection<Document> collection = deployment.database().getCollection("orders");
    return new Fresh(collection, deployment.operationTime());
  }

  private static void assertCommonFields(BsonDocument event, String operationType, MongoCollection<Document> collection) {
    {
      assertThat(event.getString("operationType").getValue()).isEqualTo(operationType);
      assertThat(event.getDocument("_id").getString("_data").getValue()).isNotEmpty();
      assertThat(event.get("clusterTime")).isInstanceOf(BsonTimestamp.class);
      // wallTime: new in 6.0 (https://www.mongodb.com/docs/manual/reference/change-events/insert/)
      assertThat(event.get("wallTime")).isInstanceOf(BsonDateTime.class);
      assertThat(event.getDocument("ns")).isEqualTo(new BsonDocument("db", new org.bson.BsonString(collection.getNamespace().getDatabaseName()))
          .append("coll", new org.bson.BsonString(collection.getNamespace().getCollectionName())));
    }
  }

  private static BsonDocument json(String json) {
    return BsonDocument.parse(json);
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/insert/
  @Test
  void insertCarriesTheDocumentAndItsKey() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", "x"));
    BsonDocument insert = fresh.raw(1).get(0);
    assertCommonFields(insert, "insert", fresh.collection());
    assertThat(insert.getDocument("documentKey")).isEqualTo(json("{_id: 1}"));
    assertThat(insert.getDocument("fullDocument")).isEqualTo(json("{_id: 1, a: 'x'}"));
  }

  // Each document of an insertMany is an insert event of its own, in order, at increasing cluster times.
  @Test
  void insertManyIsOneEventPerDocument() {
    Fresh fresh = fresh();
    fresh.collection().insertMany(List.of(new Document("_id", 1), new Document("_id", 2), new Document("_id", 3)));
    List<BsonDocument> events = fresh.raw(3);
    assertThat(events).extracting(e -> e.getDocument("documentKey")).containsExactly(json("{_id: 1}"), json("{_id: 2}"), json("{_id: 3}"));
    assertThat(events).extracting(e -> e.getTimestamp("clusterTime")).isSorted().doesNotHaveDuplicates();
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/update/ : updatedFields with the new
  // values, removedFields, truncatedArrays; no fullDocument unless asked for
  @Test
  void updateDescribesTheFieldsItChanged() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", 1).append("b", "x").append("n", 5).append("nested", new Document("c", 1)));
    fresh.collection().updateOne(Filters.eq("_id", 1),
        Updates.combine(Updates.set("a", 2), Updates.unset("b"), Updates.inc("n", 1), Updates.set("nested.c", 2)));
    BsonDocument update = fresh.raw(2).get(1);
    assertCommonFields(update, "update", fresh.collection());
    assertThat(update.getDocument("documentKey")).isEqualTo(json("{_id: 1}"));
    assertThat(update.getDocument("updateDescription")).isEqualTo(
        json("{updatedFields: {a: 2, n: 6, 'nested.c': 2}, removedFields: ['b'], truncatedArrays: []}"));
    assertThat(update.containsKey("fullDocument")).isFalse();
  }

  // fullDocument: "updateLookup" adds the document as it is now
  // (https://www.mongodb.com/docs/manual/changeStreams/#lookup-full-document-for-update-operations)
  @Test
  void updateLookupAddsTheCurrentDocument() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", 1));
    fresh.collection().updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
    BsonDocument update = fresh.raw(2, FullDocument.UPDATE_LOOKUP).get(1);
    assertThat(update.getDocument("fullDocument")).isEqualTo(json("{_id: 1, a: 2}"));
  }

  // $push appends: MongoDB reports each appended element by its index ('tags.1'), and a new array
  // whole; an array operator that rewrites the array ($pull, $push with $slice) reports it whole
  // (jstests/replsets/oplog_format.js; SERVER-71269)
  @Test
  void pushReportsTheAppendedElementsByIndex() {
    Fresh fresh = fresh();
    MongoCollection<Document> orders = fresh.collection();
    orders.insertOne(new Document("_id", 1).append("tags", List.of("a")).append("counts", List.of(1, 2, 3)));
    orders.updateOne(Filters.eq("_id", 1), Updates.push("tags", "b"));
    orders.updateOne(Filters.eq("_id", 1), Updates.pushEach("tags", List.of("c", "d")));
    orders.updateOne(Filters.eq("_id", 1), Updates.push("fresh", "x"));
    orders.updateOne(Filters.eq("_id", 1), Updates.pull("counts", 2));
    orders.updateOne(Filters.eq("_id", 1), Updates.pushEach("tags", List.of("e"), new PushOptions().slice(-2)));
    orders.updateOne(Filters.eq("_id", 1), Updates.inc("counts.0", 10));
    List<BsonDocument> events = fresh.raw(7);
    assertThat(events.subList(1, 7)).extracting(e -> e.getDocument("updateDescription").getDocument("updatedFields")).containsExactly(
        json("{'tags.1': 'b'}"),
        json("{'tags.2': 'c', 'tags.3': 'd'}"),
        json("{fresh: ['x']}"),
        json("{counts: [1, 3]}"),
        json("{tags: ['d', 'e']}"),
        json("{'counts.0': 11}"));
  }

  // Updates with an aggregation pipeline (https://www.mongodb.com/docs/manual/tutorial/update-documents-with-aggregation-pipeline/)
  // are update events whose description is the difference between the document before and after
  // (a shorter array is a truncatedArrays entry: https://www.mongodb.com/docs/manual/reference/change-events/update/)
  @Test
  void pipelineUpdatesAreUpdateEventsDescribingTheDifference() {
    Fresh fresh = fresh();
    MongoCollection<Document> orders = fresh.collection();
    orders.insertOne(new Document("_id", 1).append("a", 1).append("b", 2).append("items", List.of(1, 2, 3)));
    UpdateResult result = orders.updateOne(Filters.eq("_id", 1), List.of(
        Aggregates.set(new Field<>("a", 5), new Field<>("c", "new")),
        Aggregates.unset("b")));
    assertThat(result.getMatchedCount()).isEqualTo(1);
    assertThat(result.getModifiedCount()).isEqualTo(1);
    orders.updateOne(Filters.eq("_id", 1), List.of(Aggregates.set(new Field<>("items", new Document("$slice", List.of("$items", 2))))));
    orders.updateOne(Filters.eq("_id", 1), List.of(Aggregates.addFields(new Field<>("total", new Document("$add", List.of("$a", 1))))));
    assertThat(orders.find(Filters.eq("_id", 1)).first())
        .isEqualTo(new Document("_id", 1).append("a", 5).append("items", List.of(1, 2)).append("c", "new").append("total", 6));

    List<BsonDocument> events = fresh.raw(4);
    assertThat(events.subList(1, 4)).extracting(e -> e.getString("operationType").getValue()).containsOnly("update");
    assertThat(events.get(1).getDocument("updateDescription"))
        .isEqualTo(json("{updatedFields: {a: 5, c: 'new'}, removedFields: ['b'], truncatedArrays: []}"));
    assertThat(events.get(2).getDocument("updateDescription"))
        .isEqualTo(json("{updatedFields: {}, removedFields: [], truncatedArrays: [{field: 'items', newSize: 2}]}"));
    assertThat(events.get(3).getDocument("updateDescription"))
        .isEqualTo(json("{updatedFields: {total: 6}, removedFields: [], truncatedArrays: []}"));
  }

  // A pipeline update that upserts inserts the document the pipeline made from the query's equalities.
  @Test
  void aPipelineUpsertIsAnInsert() {
    Fresh fresh = fresh();
    UpdateResult result = fresh.collection().updateOne(Filters.eq("_id", 9), List.of(Aggregates.set(new Field<>("n", 1))),
        new UpdateOptions().upsert(true));
    assertThat(result.getUpsertedId()).isNotNull();
    BsonDocument insert = fresh.raw(1).get(0);
    assertThat(insert.getString("operationType").getValue()).isEqualTo("insert");
    assertThat(insert.getDocument("fullDocument")).isEqualTo(json("{_id: 9, n: 1}"));
  }

  // An update that changes nothing writes no oplog entry, so no event (nModified: 0)
  @Test
  void anUpdateThatChangesNothingIsNoEvent() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", 1));
    UpdateResult same = fresh.collection().updateOne(Filters.eq("_id", 1), Updates.set("a", 1));
    assertThat(same.getModifiedCount()).isZero();
    fresh.collection().deleteOne(Filters.eq("_id", 1));
    assertThat(fresh.raw(2)).extracting(e -> e.getString("operationType").getValue()).containsExactly("insert", "delete");
  }

  // updateMany: one update event per document it changed
  @Test
  void updateManyIsOneEventPerDocument() {
    Fresh fresh = fresh();
    fresh.collection().insertMany(List.of(new Document("_id", 1).append("k", 1), new Document("_id", 2).append("k", 1)));
    fresh.collection().updateMany(Filters.eq("k", 1), Updates.set("done", true));
    List<BsonDocument> events = fresh.raw(4);
    assertThat(events.subList(2, 4)).extracting(e -> e.getDocument("documentKey")).containsExactlyInAnyOrder(json("{_id: 1}"), json("{_id: 2}"));
    assertThat(events.subList(2, 4)).allSatisfy(e -> assertThat(e.getDocument("updateDescription").getDocument("updatedFields"))
        .isEqualTo(json("{done: true}")));
  }

  // An upsert that inserts is an insert event
  @Test
  void anUpsertThatInsertsIsAnInsertEvent() {
    Fresh fresh = fresh();
    fresh.collection().updateOne(Filters.eq("_id", 3), Updates.set("n", 1), new UpdateOptions().upsert(true));
    BsonDocument insert = fresh.raw(1).get(0);
    assertThat(insert.getString("operationType").getValue()).isEqualTo("insert");
    assertThat(insert.getDocument("fullDocument")).isEqualTo(json("{_id: 3, n: 1}"));
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/replace/ : the new document, whole
  @Test
  void replaceCarriesTheNewDocument() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", 1));
    fresh.collection().replaceOne(Filters.eq("_id", 1), new Document("b", 2));
    BsonDocument replace = fresh.raw(2).get(1);
    assertCommonFields(replace, "replace", fresh.collection());
    assertThat(replace.getDocument("documentKey")).isEqualTo(json("{_id: 1}"));
    assertThat(replace.getDocument("fullDocument")).isEqualTo(json("{_id: 1, b: 2}"));
    assertThat(replace.containsKey("updateDescription")).isFalse();
  }

  // https://www.mongodb.com/docs/manual/reference/change-events/delete/ : the key, no document
  @Test
  void deleteCarriesOnlyTheKey() {
    Fresh fresh = fresh();
    fresh.collection().insertOne(new Document("_id", 1).append("a", 1));
    fresh.collection().deleteOne(Filters.eq("_id", 1));
    BsonDocument delete = fresh.raw(2).get(1);
    assertCommonFields(delete, "delete", fresh.collection());
    assertThat(delete.getDocument("documentKey")).isEqualTo(json("{_id: 1}"));
    assertThat(delete.containsKey("fullDocument")).isFalse();
  }

  // bulkWrite: each write is an event, in the order written
  // (https://www.mongodb.com/docs/manual/reference/method/db.collection.bulkWrite/)
  @Test
  void bulkWriteIsAnEventPerWriteInOrder() {
    Fresh fresh = fresh();
    fresh.collection().bulkWrite(List.of(
        new InsertOneModel<>(new Document("_id", 1).append("a", 1)),
        new InsertOneModel<>(new Document("_id", 2)),
        new UpdateOneModel<>(Filters.eq("_id", 1), Updates.set("a", 2)),
        new ReplaceOneModel<>(Filters.eq("_id", 2), new Document("r", true)),
        new DeleteOneModel<>(Filters.eq("_id", 1))));
    List<BsonDocument> events = fresh.raw(5);
    assertThat(events).extracting(e -> e.getString("operationType").getValue())
        .containsExactly("insert", "insert", "update", "replace", "delete");
    assertThat(events).extracting(e -> e.getDocument("documentKey"))
        .containsExactly(json("{_id: 1}"), json("{_id: 2}"), json("{_id: 1}"), json("{_id: 2}"), json("{_id: 1}"));
  }
}
