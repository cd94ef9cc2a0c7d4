package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import io.tidemark.source.ChangeStreamTarget;
import io.tidemark.source.CursorProbe;
import io.tidemark.source.OplogMonitor;
import io.tidemark.source.OplogSample;
import io.tidemark.source.ResumePosition;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Queries read what they need, not the collection: an {@code _id} range is a range of the store,
 * a query in {@code _id} (or natural) order streams batch by batch, the oplog's first and last
 * entries and a seek by time read an entry or two. "Read" is counted by the server, as a mongod
 * counts documents examined ({@code serverStatus().metrics.queryExecutor.scannedObjects}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class EmbeddedQueriesIT {
  private static final int DOCUMENTS = 20_000;

  private EmbeddedMongo mongo;
  private MongoClient client;
  private MongoCollection<Document> orders;

  @BeforeAll
  void fill() {
    mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(1_000_000));
    client = MongoClients.create(mongo.connectionString());
    orders = client.getDatabase("shop").getCollection("orders");
    List<Document> batch = new ArrayList<>();
    // inserted out of order: the store keeps them in _id order whatever the order of insertion
    for (int i = 0; i < DOCUMENTS; i++) {
      int id = (i * 7_919) % DOCUMENTS;
      batch.add(new Document("_id", id).append("customer", "c" + (id % 100)).append("total", id % 1_000));
      if (batch.size() == 1_000) {
        orders.insertMany(batch);
        batch.clear();
      }
    }
  }

  @AfterAll
  void stop() {
    client.close();
    mongo.close();
  }

  private long scanned() {
    Document status = client.getDatabase("admin").runCommand(new Document("serverStatus", 1));
    return ((Document) ((Document) status.get("metrics")).get("queryExecutor")).get("scannedObjects", Number.class).longValue();
  }

  @Test
  void anIdRangeBatchReadsOnlyTheBatch() {
    long before = scanned();
    List<Document> batch = orders.find(Filters.gt("_id", 12_345)).sort(Sorts.ascending("_id")).limit(1_000).batchSize(1_000)
        .into(new ArrayList<>());
    long examined = scanned() - before;

    assertThat(batch).extracting(document -> document.getInteger("_id"))
        .containsExactlyElementsOf(IntStream.rangeClosed(12_346, 13_345).boxed().toList());
    assertThat(examined).as("documents examined for a batch of 1,000 of %,d", DOCUMENTS).isLessThanOrEqualTo(1_001);
  }

  @Test
  void aDescendingIdRangeReadsBackwardsFromItsBound() {
    long before = scanned();
    List<Document> batch = orders.find(Filters.and(Filters.lt("_id", 500), Filters.gte("_id", 100))).sort(Sorts.descending("_id"))
        .limit(10).into(new ArrayList<>());
    assertThat(batch).extracting(document -> document.getInteger("_id")).containsExactly(499, 498, 497, 496, 495, 494, 493, 492, 491, 490);
    assertThat(scanned() - before).isLessThanOrEqualTo(11);
  }

  @Test
  void aBareFindAnswersWithAFirstBatchAndACursorNotTheWholeCollection() {
    long before = scanned();
    Document reply = client.getDatabase("shop").runCommand(new Document("find", "orders"));
    Document cursor = (Document) reply.get("cursor");
    List<?> first = (List<?>) cursor.get("firstBatch");
    assertThat(first).as("a mongod's first batch").hasSize(101);
    assertThat(cursor.get("id", Number.class).longValue()).as("a cursor for the rest").isNotZero();
    assertThat(scanned() - before).isLessThanOrEqualTo(102);

    Document more = client.getDatabase("shop").runCommand(
        new Document("getMore", cursor.get("id", Number.class).longValue()).append("collection", "orders").append("batchSize", 500));
    assertThat((List<?>) ((Document) more.get("cursor")).get("nextBatch")).hasSize(500);
    client.getDatabase("shop").runCommand(new Document("killCursors", "orders").append("cursors", List.of(cursor.get("id"))));

    // and read through the driver, the whole collection arrives, in _id order, once each
    List<Integer> ids = new ArrayList<>();
    orders.find().projection(Projections.include("_id")).forEach(document -> ids.add(document.getInteger("_id")));
    assertThat(ids).containsExactlyElementsOf(IntStream.range(0, DOCUMENTS).boxed().toList());
  }

  @Test
  void aCursorReadsOnAcrossWritesBetweenItsBatches() {
    MongoCollection<Document> moving = client.getDatabase("shop").getCollection("moving");
    for (int i = 0; i < 1_000; i += 2) moving.insertOne(new Document("_id", i));
    List<Integer> seen = new ArrayList<>();
    try (var cursor = moving.find().batchSize(100).iterator()) {
      for (int i = 0; i < 100; i++) seen.add(cursor.next().getInteger("_id"));
      moving.insertOne(new Document("_id", 1)); // behind the cursor
      moving.insertOne(new Document("_id", 999)); // ahead of it
      moving.deleteOne(Filters.eq("_id", 998)); // ahead of it
      cursor.forEachRemaining(document -> seen.add(document.getInteger("_id")));
    }
    List<Integer> expected = new ArrayList<>(IntStream.range(0, 500).map(i -> 2 * i).boxed().toList());
    expected.remove(Integer.valueOf(998));
    expected.add(999);
    assertThat(seen).containsExactlyElementsOf(expected);
  }

  @Test
  void sortedByAnotherFieldUnderALimitGivesTheTop() {
    long before = scanned();
    List<Document> top = orders.find(Filters.eq("customer", "c7")).sort(Sorts.orderBy(Sorts.descending("total"), Sorts.ascending("_id")))
        .skip(2).limit(5).into(new ArrayList<>());
    Comparator<Integer> byTotalThenId = Comparator.<Integer>comparingInt(id -> -(id % 1_000)).thenComparingInt(id -> id);
    List<Integer> expected = IntStream.range(0, DOCUMENTS).filter(id -> id % 100 == 7).boxed().sorted(byTotalThenId).skip(2).limit(5).toList();
    assertThat(top).extracting(document -> document.getInteger("_id")).containsExactlyElementsOf(expected);
    assertThat(scanned() - before).as("a sort by another field reads the collection once").isLessThanOrEqualTo(DOCUMENTS);
  }

  @Test
  void rangesFollowMongoDbTypeBracketingAndNumericOrder() {
    MongoCollection<Document> mixed = client.getDatabase("shop").getCollection("mixed");
    List<Object> ids = new ArrayList<>(List.of(1, 2L, 2.5, 3, 10L, -4.0, "a", "b", "m", "z", new ObjectId(), new ObjectId(),
        new Document("k", 1), true, false));
    for (Object id : ids) mixed.insertOne(new Document("_id", id));
    mixed.insertOne(new Document("_id", null));

    assertThat(idsOf(mixed.find(Filters.gt("_id", 2)).sort(Sorts.ascending("_id")))).containsExactly(2.5, 3, 10L);
    assertThat(idsOf(mixed.find(Filters.gte("_id", 2)).sort(Sorts.descending("_id")))).containsExactly(10L, 3, 2.5, 2L);
    assertThat(idsOf(mixed.find(Filters.lt("_id", "n")))).containsExactly("a", "b", "m");
    assertThat(idsOf(mixed.find(Filters.in("_id", 3.0, "z", 2, 99)))).containsExactly(2L, 3, "z");
    assertThat(idsOf(mixed.find(Filters.eq("_id", 10)))).containsExactly(10L);
    assertThat(idsOf(mixed.find(Filters.and(Filters.gt("_id", 1), Filters.lt("_id", "z"))))).isEmpty();
    assertThat(idsOf(mixed.find(Filters.ne("_id", 1)).sort(Sorts.ascending("_id")))).hasSize(ids.size());
    assertThat(idsOf(mixed.find(Filters.eq("_id", null)))).hasSize(1);
    // and, with no condition on _id, every document, in MongoDB's order of _id types
    List<Object> all = idsOf(mixed.find());
    assertThat(all).hasSize(ids.size() + 1);
    assertThat(all.subList(1, 7)).containsExactly(-4.0, 1, 2L, 2.5, 3, 10L);
  }

  private static List<Object> idsOf(Iterable<Document> documents) {
    List<Object> ids = new ArrayList<>();
    documents.forEach(document -> ids.add(document.get("_id")));
    return ids;
  }

  @Test
  void theOplogMonitorReadsTwoEntriesWhateverTheOplogsSize() throws Exception {
    long entries = client.getDatabase("local").getCollection("oplog.rs").estimatedDocumentCount();
    assertThat(entries).isGreaterThanOrEqualTo(DOCUMENTS);
    try (com.mongodb.reactivestreams.client.MongoClient reactive = com.mongodb.reactivestreams.client.MongoClients.create(mongo.connectionString())) {
      long before = scanned();
      OplogSample sample = OplogMonitor.read(reactive, null).toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(scanned() - before).as("documents examined by one sample of an oplog of %,d entries", entries).isLessThanOrEqualTo(2);
      assertThat(sample.first().compareTo(sample.last())).isNegative();
      assertThat(sample.usage()).isNotNull();
    }
  }

  @Test
  void aSeekByTimeInTheOplogReadsFromThatTime() {
    var oplog = client.getDatabase("local").getCollection("oplog.rs");
    List<Document> all = new ArrayList<>();
    oplog.find().sort(Sorts.descending("$natural")).limit(3).into(all);
    BsonTimestamp third = all.get(2).get("ts", BsonTimestamp.class);
    long before = scanned();
    List<Document> from = oplog.find(Filters.gte("ts", third)).sort(Sorts.ascending("$natural")).into(new ArrayList<>());
    assertThat(from).extracting(entry -> entry.get("ts", BsonTimestamp.class)).hasSize(3).first().isEqualTo(third);
    assertThat(scanned() - before).as("entries examined by a seek by time to the third newest").isLessThanOrEqualTo(3);
  }

  @Test
  void aQuietStreamsHeartbeatProbeReadsOnlyWhatFollowsItsPosition() {
    var oplog = client.getDatabase("local").getCollection("oplog.rs");
    long entries = oplog.estimatedDocumentCount();
    BsonTimestamp newest = oplog.find().sort(Sorts.descending("$natural")).limit(1).first().get("ts", BsonTimestamp.class);
    CursorProbe probe = new CursorProbe(client, ChangeStreamTarget.collection("shop", "quiet"), List.of());

    long before = scanned();
    BsonDocument token = probe.positionAfter(new ResumePosition.StartAtOperationTime(newest), List.of(), null).orElseThrow();
    assertThat(scanned() - before).as("entries examined by a probe from the newest of %,d entries", entries).isLessThanOrEqualTo(2);

    // the next heartbeat probes after the token the last one saved, as Heartbeats does
    before = scanned();
    probe.positionAfter(new ResumePosition.ResumeAfter(token), List.of(), null).orElseThrow();
    assertThat(scanned() - before).as("entries examined by a probe after the last heartbeat, %,d entries in the oplog", entries)
        .isLessThanOrEqualTo(2);
  }

  @Test
  void collStatsOfTheOplogExaminesNoEntry() {
    long before = scanned();
    Document stats = client.getDatabase("local").runCommand(new Document("collStats", "oplog.rs"));
    assertThat(scanned() - before).as("entries examined by collStats of the oplog").isZero();
    assertThat(stats.get("count", Number.class).longValue()).isGreaterThanOrEqualTo(DOCUMENTS);
  }
}
