package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoNamespace;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import org.bson.BsonInt32;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The checkpoint topic's record: what it keeps, how it reads back, and which key positions a checkpoint lets go. */
class KafkaCheckpointRecordTest {
  private static Checkpoint at(long index) {
    ChangeEnvelope event = Envelopes.event(index, index, "any");
    return Checkpoint.atToken("s", event.resumeToken(), event.clusterTime());
  }

  @Test
  void aRecordReadsBackWithItsCheckpointPositionsAndHistory() {
    Map<String, KeyPosition> positions = new HashMap<>();
    ChangeEnvelope a = Envelopes.event(1, 120, "a");
    positions.put(KeyPosition.keyOf(a), KeyPosition.of(a));
    KafkaCheckpointRecord record = KafkaCheckpointRecord.none("s").withEpoch(3)
        .next(at(100).as(CheckpointKind.GAP, "skipped 2"), Map.of(), 5)
        .next(at(110), positions, 5);

    KafkaCheckpointRecord read = KafkaCheckpointRecord.decode("s", "test", record.encode());
    assertThat(read.epoch).isEqualTo(3);
    assertThat(read.checkpoint).isEqualTo(at(110));
    assertThat(read.positions).containsExactlyEntriesOf(positions);
    assertThat(read.history()).extracting(Checkpoint::kind).containsExactly(CheckpointKind.GAP, CheckpointKind.EVENT);
    assertThat(read.history().get(0).note()).isEqualTo("skipped 2");
    assertThat(read.corruption).isNull();
  }

  @Test
  void theHistoryKeepsTheNewestRoutineEntriesAndTheNotableOnesApart() {
    KafkaCheckpointRecord record = KafkaCheckpointRecord.none("s").next(at(1).as(CheckpointKind.START, null), Map.of(), 3);
    for (long index = 2; index <= 10; index++) record = record.next(at(index), Map.of(), 3);
    assertThat(record.history()).hasSize(4);
    assertThat(record.history().stream().filter(c -> c.kind() == CheckpointKind.START)).hasSize(1);
    assertThat(record.history().get(record.history().size() - 1)).isEqualTo(at(10));
  }

  @Test
  void anUnreadableValueIsReportedAndKeptAsItWas() {
    KafkaCheckpointRecord garbage = KafkaCheckpointRecord.decode("s", "topic t", "not json".getBytes(StandardCharsets.UTF_8));
    assertThat(garbage.checkpoint).isNull();
    assertThat(garbage.corruption).hasMessageContaining("stream 's'").hasMessageContaining("'not json'");
    KafkaCheckpointRecord again = KafkaCheckpointRecord.decode("s", "topic t", garbage.withEpoch(1).encode());
    assertThat(again.epoch).isEqualTo(1);
    assertThat(again.corruption).hasMessageContaining("not json");

    String badToken = "{\"stream\": \"s\", \"epoch\": 4, \"checkpoint\": {\"kind\": \"event\", \"token\": \"nope\"}}";
    KafkaCheckpointRecord corrupt = KafkaCheckpointRecord.decode("s", "topic t", badToken.getBytes(StandardCharsets.UTF_8));
    assertThat(corrupt.epoch).isEqualTo(4);
    assertThat(corrupt.corruption).hasMessageContaining("is not a resume token");
    assertThat(KafkaCheckpointRecord.decode("s", "topic t", corrupt.withEpoch(5).encode()).corruption)
        .hasMessageContaining("is not a resume token");
  }

  @Test
  void aKeyPositionIsLetGoOnlyOnceTheCheckpointHasPassedIt() {
    KeyPosition before = KeyPosition.of(Envelopes.event(1, 99, "k"));
    KeyPosition atIt = KeyPosition.of(Envelopes.event(1, 100, "k"));
    KeyPosition after = KeyPosition.of(Envelopes.event(1, 101, "k"));
    assertThat(before.passedBy(at(100))).isTrue();
    assertThat(atIt.passedBy(at(100))).isFalse();
    assertThat(after.passedBy(at(100))).isFalse();
    assertThat(after.compareTo(atIt)).isPositive();
    assertThat(after.passedBy(null)).isFalse();
  }

  @Test
  void aCopiedDocumentsPositionIsLetGoOnceTheCopyIsSavedPastItsId() {
    BsonTimestamp time = new BsonTimestamp(1_700_000_000, 1);
    MongoNamespace orders = new MongoNamespace("shop", "orders");
    KeyPosition copied5 = KeyPosition.of(ChangeEnvelope.snapshot(1, orders, time, new Document("_id", 5)));
    KeyPosition copied9 = KeyPosition.of(ChangeEnvelope.snapshot(2, orders, time, new Document("_id", 9)));
    Checkpoint copiedThrough7 = Checkpoint.snapshot("s", time, new BsonInt32(7), null);
    assertThat(copied5.passedBy(copiedThrough7)).isTrue();
    assertThat(copied9.passedBy(copiedThrough7)).isFalse();
    // The copy's end (a start at the snapshot's time) keeps them, and the first event after it lets them go.
    assertThat(copied9.passedBy(Checkpoint.atOperationTime("s", time))).isFalse();
    assertThat(copied9.passedBy(Checkpoint.atToken("s", Envelopes.insert(1).resumeToken(), new BsonTimestamp(1_700_000_000, 2)))).isTrue();
    // A copied document and a later event of its key: the event is newer.
    assertThat(KeyPosition.of(Envelopes.event(1, 1, "k")).compareTo(copied9)).isPositive();
  }

  /** A chunked copy's checkpoint has no one _id: a position is let go once its chunk is done, or done up to it. */
  @Test
  void inAChunkedCopyAPositionIsLetGoOnceItsChunkIsSavedPastIt() {
    BsonTimestamp time = new BsonTimestamp(1_700_000_000, 1);
    MongoNamespace orders = new MongoNamespace("shop", "orders");
    java.util.List<io.tidemark.source.ResumePosition.Chunk> chunks = java.util.List.of(
        new io.tidemark.source.ResumePosition.Chunk(null, new BsonInt32(10), new BsonInt32(4), true),
        new io.tidemark.source.ResumePosition.Chunk(new BsonInt32(10), new BsonInt32(20), new BsonInt32(15), false),
        new io.tidemark.source.ResumePosition.Chunk(new BsonInt32(20), null, null, false));
    io.tidemark.source.ResumePosition.Snapshot position = new io.tidemark.source.ResumePosition.Snapshot(time, null, null, chunks);
    Checkpoint saved = Checkpoint.snapshot("s", time, null, null).withSnapshot(position.progress());
    KeyPosition inDone = KeyPosition.of(ChangeEnvelope.snapshotAt(1, orders, position, new Document("_id", 7), null));
    KeyPosition beforeItsChunksId = KeyPosition.of(ChangeEnvelope.snapshotAt(2, orders, position, new Document("_id", 15), null));
    KeyPosition afterItsChunksId = KeyPosition.of(ChangeEnvelope.snapshotAt(3, orders, position, new Document("_id", 16), null));
    KeyPosition inUnbegun = KeyPosition.of(ChangeEnvelope.snapshotAt(4, orders, position, new Document("_id", 25), null));
    assertThat(inDone.passedBy(saved)).isTrue();
    assertThat(beforeItsChunksId.passedBy(saved)).isTrue();
    assertThat(afterItsChunksId.passedBy(saved)).isFalse();
    assertThat(inUnbegun.passedBy(saved)).isFalse();
  }

  /** A copy of many collections at once: a position is let go once its collection is done, or its chunk done up to it; never for one not begun. */
  @Test
  void inACopyOfManyCollectionsAtOnceAPositionIsLetGoOnceItsCollectionOrChunkIsSavedPastIt() {
    BsonTimestamp time = new BsonTimestamp(1_700_000_000, 1);
    MongoNamespace archive = new MongoNamespace("shop", "archive");
    MongoNamespace customers = new MongoNamespace("shop", "customers");
    MongoNamespace orders = new MongoNamespace("shop", "orders");
    io.tidemark.source.ResumePosition.Snapshot position = io.tidemark.source.ResumePosition.Snapshot.ofCollections(time, java.util.List.of(
        new io.tidemark.source.ResumePosition.Collection("shop.orders", java.util.List.of(
            new io.tidemark.source.ResumePosition.Chunk(null, new BsonInt32(10), new BsonInt32(4), false),
            new io.tidemark.source.ResumePosition.Chunk(new BsonInt32(10), null, null, true)))), java.util.List.of("shop.customers"));
    Checkpoint saved = Checkpoint.snapshot("s", time, null, null).withSnapshot(position.progress());
    assertThat(KeyPosition.of(ChangeEnvelope.snapshotAt(1, customers, position, new Document("_id", 99), null)).passedBy(saved))
        .as("a collection done").isTrue();
    assertThat(KeyPosition.of(ChangeEnvelope.snapshotAt(2, orders, position, new Document("_id", 4), null)).passedBy(saved)).isTrue();
    assertThat(KeyPosition.of(ChangeEnvelope.snapshotAt(3, orders, position, new Document("_id", 5), null)).passedBy(saved)).isFalse();
    assertThat(KeyPosition.of(ChangeEnvelope.snapshotAt(4, orders, position, new Document("_id", 12), null)).passedBy(saved))
        .as("a chunk done").isTrue();
    assertThat(KeyPosition.of(ChangeEnvelope.snapshotAt(5, archive, position, new Document("_id", 1), null)).passedBy(saved))
        .as("a collection not begun, though its name sorts first").isFalse();
  }

  @Test
  void inACopyOfManyCollectionsAPositionIsLetGoOnlyOnceItsCollectionIsDoneOrPassedInIt() {
    BsonTimestamp time = new BsonTimestamp(1_700_000_000, 1);
    MongoNamespace customers = new MongoNamespace("shop", "customers");
    MongoNamespace orders = new MongoNamespace("shop", "orders");
    KeyPosition customer9 = KeyPosition.of(ChangeEnvelope.snapshotOfMany(1, customers, time, new Document("_id", 9), null));
    KeyPosition order5 = KeyPosition.of(ChangeEnvelope.snapshotOfMany(2, orders, time, new Document("_id", 5), null));
    KeyPosition order9 = KeyPosition.of(ChangeEnvelope.snapshotOfMany(3, orders, time, new Document("_id", 9), null));
    Checkpoint customersThrough7 = Checkpoint.atOperationTime("s", time).as(CheckpointKind.SNAPSHOT, null)
        .withSnapshot(new org.bson.BsonDocument("ns", new org.bson.BsonString("shop.customers")).append("_id", new BsonInt32(7)));
    Checkpoint ordersThrough7 = Checkpoint.atOperationTime("s", time).as(CheckpointKind.SNAPSHOT, null)
        .withSnapshot(new org.bson.BsonDocument("ns", new org.bson.BsonString("shop.orders")).append("_id", new BsonInt32(7)));
    // customers comes first: _id 9 of orders is not passed by customers' _id 7, whatever the _ids say.
    assertThat(customer9.passedBy(customersThrough7)).isFalse();
    assertThat(order5.passedBy(customersThrough7)).as("a later collection").isFalse();
    assertThat(customer9.passedBy(ordersThrough7)).as("an earlier collection, done").isTrue();
    assertThat(order5.passedBy(ordersThrough7)).isTrue();
    assertThat(order9.passedBy(ordersThrough7)).isFalse();
    // Kept across a save and a read of the record.
    Map<String, KeyPosition> positions = Map.of("{\"_id\": 9}", order9);
    KafkaCheckpointRecord record = KafkaCheckpointRecord.none("s").next(ordersThrough7, positions, 5);
    assertThat(KafkaCheckpointRecord.decode("s", "test", record.encode()).positions).containsExactlyEntriesOf(positions);
    assertThat(order9.snapshotNamespace()).isEqualTo("shop.orders");
  }
}
