package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.testkit.FaultyMongo;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The oplog monitor on the fault kit's capped oplog: window, usage, and a headroom that shrinks as writes push the oldest entry on. */
class OplogMonitorIT {
  private static final int CAP = 400;

  @Test
  void headroomShrinksAsWritesPushTheOldestEntryForward() throws Exception {
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(CAP));
        MongoClient client = MongoClients.create(mongo.uri())) {
      var other = mongo.database("shop").getCollection("other");
      // One batch of 100 entries per second: 0, 1, 2; the checkpoint at the end of batch 2.
      writeBatchInItsOwnSecond(other, 0);
      writeBatchInItsOwnSecond(other, 1);
      writeBatchInItsOwnSecond(other, 2);
      BsonTimestamp checkpoint = newest(mongo);

      OplogSample before = sample(client, checkpoint);
      assertThat(before.first()).isEqualTo(mongo.oldestOplogTime());
      assertThat(before.windowSeconds()).isGreaterThanOrEqualTo(2);
      assertThat(before.headroomSeconds()).isEqualTo(before.windowSeconds());
      assertThat(before.usage()).as("300 inserts and the collection's create").isEqualTo(301.0 / CAP);
      assertThat(before.recommendedCheckpointIntervalSeconds()).isEqualTo(before.windowSeconds() / 10);

      List<Long> headrooms = new ArrayList<>(List.of(before.headroomSeconds()));
      // Four batches fill the cap; the first entry is the collection's create, so a fifth pushes
      // the checkpoint's second out for certain.
      for (int batch = 3; batch <= 7; batch++) {
        writeBatchInItsOwnSecond(other, batch);
        OplogSample sample = sample(client, checkpoint);
        assertThat(sample.headroomSeconds()).isEqualTo((long) checkpoint.getTime() - mongo.oldestOplogTime().getTime());
        headrooms.add(sample.headroomSeconds());
      }
      assertThat(headrooms).as("headroom per batch: %s", headrooms).isSortedAccordingTo((a, b) -> Long.compare(b, a));
      assertThat(headrooms.get(headrooms.size() - 1)).as("the checkpoint has fallen off").isNegative();
      assertThat(headrooms.get(0) - headrooms.get(headrooms.size() - 1)).isGreaterThanOrEqualTo(3);
      assertThat(sample(client, checkpoint).usage()).isBetween(0.95, 1.0 + 4.0 / CAP);
    }
  }

  @Test
  void withoutACheckpointThereIsNoHeadroom() throws Exception {
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.uri())) {
      mongo.database("shop").getCollection("other").insertOne(new Document("_id", 1));
      OplogSample sample = sample(client, null);
      assertThat(sample.headroomSeconds()).isNull();
      assertThat(sample.windowSeconds()).isZero();
    }
  }

  @Test
  void anEmptyOplogIsNotWarnedAboutAsUnreadable() throws Exception {
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(OplogMonitor.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> captured = new ch.qos.logback.core.read.ListAppender<>();
    captured.start();
    logger.addAppender(captured);
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.uri())) {
      OplogMonitor monitor = new OplogMonitor("fresh", client, OplogSettings.create(com.typesafe.config.ConfigFactory.load()), () -> null, sample -> {});
      assertThat(monitor.sample().toCompletableFuture().get(10, TimeUnit.SECONDS)).as("no sample of an empty oplog").isNull();
      assertThat(captured.list).as("nothing to warn about on a fresh server").noneMatch(event -> event.getLevel().isGreaterOrEqual(ch.qos.logback.classic.Level.WARN));

      mongo.database("shop").getCollection("other").insertOne(new Document("_id", 1));
      assertThat(monitor.sample().toCompletableFuture().get(10, TimeUnit.SECONDS)).as("a sample once the oplog has an entry").isNotNull();
    } finally {
      logger.detachAppender(captured);
    }
  }

  @Test
  void theStreamsOfOneClientShareEachSampleEachWithItsOwnCheckpoint() throws Exception {
    akka.actor.testkit.typed.javadsl.ActorTestKit kit = akka.actor.testkit.typed.javadsl.ActorTestKit.create("OplogMonitorIT");
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.uri())) {
      var other = mongo.database("shop").getCollection("other");
      other.insertOne(new Document("_id", 1));
      BsonTimestamp early = newest(mongo);
      other.insertOne(new Document("_id", 2));
      BsonTimestamp late = newest(mongo);
      OplogSettings settings = OplogSettings.create(com.typesafe.config.ConfigFactory.load()).withInterval(java.time.Duration.ofMillis(200));
      List<OplogSample> first = new java.util.concurrent.CopyOnWriteArrayList<>();
      List<OplogSample> second = new java.util.concurrent.CopyOnWriteArrayList<>();
      OplogMonitors monitors = OplogMonitors.get(kit.system());

      akka.actor.Cancellable a = new OplogMonitor("a", client, settings, () -> early, first::add).start(kit.system());
      akka.actor.Cancellable b = new OplogMonitor("b", client, settings, () -> late, second::add).start(kit.system());
      assertThat(monitors.samplers()).as("one sampler for the client").isEqualTo(1);
      io.tidemark.Await.until(java.time.Duration.ofSeconds(20), () -> first.size() >= 3 && second.size() >= 3,
          () -> "three samples each; have " + first.size() + " and " + second.size());

      java.util.Set<java.time.Instant> readForTheFirst = first.stream().map(OplogSample::at).collect(java.util.stream.Collectors.toSet());
      assertThat(second).as("the second stream's samples are the reads the first one got").allMatch(sample -> readForTheFirst.contains(sample.at()));
      assertThat(first).as("each with its own checkpoint").allMatch(sample -> early.equals(sample.checkpoint()));
      assertThat(second).allMatch(sample -> late.equals(sample.checkpoint()));
      assertThat(second.get(0).headroomSeconds()).isEqualTo((long) late.getTime() - second.get(0).first().getTime());

      a.cancel();
      assertThat(monitors.samplers()).as("the sampler goes on for the second stream").isEqualTo(1);
      b.cancel();
      assertThat(monitors.samplers()).as("and stops with the last").isZero();
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Test
  void humanDurationsShowTheTwoLargestUnits() {
    assertThat(OplogMonitor.human(0)).isEqualTo("0s");
    assertThat(OplogMonitor.human(59)).isEqualTo("59s");
    assertThat(OplogMonitor.human(3_600)).isEqualTo("1h");
    assertThat(OplogMonitor.human(90_061)).isEqualTo("1d 1h");
    assertThat(OplogMonitor.human(3_725)).isEqualTo("1h 2m");
    assertThat(OplogMonitor.human(-125)).isEqualTo("-2m 5s");
  }

  private static OplogSample sample(MongoClient client, BsonTimestamp checkpoint) throws Exception {
    return OplogMonitor.read(client, checkpoint).toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  private static BsonTimestamp newest(FaultyMongo mongo) {
    return mongo.database("local").getCollection("oplog.rs", org.bson.BsonDocument.class)
        .find().sort(new Document("$natural", -1)).limit(1).first().getTimestamp("ts");
  }

  /** Waits for the next second of the clock, then writes 100 entries within it. */
  private static void writeBatchInItsOwnSecond(com.mongodb.client.MongoCollection<Document> collection, int batch) {
    long second = System.currentTimeMillis() / 1000;
    io.tidemark.Await.until(java.time.Duration.ofSeconds(2), () -> System.currentTimeMillis() / 1000 != second, () -> "the next second of the clock");
    List<Document> documents = new ArrayList<>();
    for (int i = 0; i < 100; i++) documents.add(new Document("_id", batch * 1000 + i));
    collection.insertMany(documents);
  }
}
