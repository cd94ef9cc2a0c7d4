package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.WriteModel;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.KafkaBroker;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.KafkaCheckpointSettings;
import io.tidemark.checkpoint.KafkaCheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointSettings;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Kafka sink's guarantees end to end, against a real broker and the embedded MongoDB: 20,000
 * change events (inserts, eight and nine replacements, deletes of 2,000 orders) through a pipeline
 * with parallelism 4, killed with its actor system at five random points (no drain, no flush) and
 * with every client connection to the broker cut once for a few seconds. A downstream reader then
 * finds, in {@code exactly-once}, every event exactly once and each key's events in the stream's
 * order; in {@code at-least-once}, every event at least once, the duplicates counted and within the
 * replay bound, and each key's last record its last event.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KafkaSinkIT {
  private static final int ROUNDS = 20;
  private static final int PER_ROUND = 100;
  private static final int EVENTS = ROUNDS * 1_000;
  private static final int WINDOW = 500;
  private static final int THROTTLE = 100;
  private static final String STREAM = "orders-to-kafka";

  private final KafkaBroker broker = KafkaBroker.shared();
  private final Config config = ConfigFactory.parseString(
          "tidemark.pipeline.on-failure.restart-min-backoff = 50ms\n"
              + "tidemark.pipeline.on-failure.restart-max-backoff = 200ms\n"
              + "tidemark.oplog.monitor = off\n"
              + "tidemark.sink.kafka.bootstrap-servers = \"" + broker.bootstrapServers() + "\"")
      .withFallback(ConfigFactory.load());

  @Test
  void exactlyOnceEveryEventOnceInEachKeysOrderAfterFiveCrashesAndACutConnection() throws Exception {
    Outcome outcome = crashAndRecover(DeliveryGuarantee.EXACTLY_ONCE);
    Map<String, List<TopicRecords.Seen>> byKey = outcome.records.stream().collect(Collectors.groupingBy(TopicRecords.Seen::key,
        Collectors.collectingAndThen(Collectors.toList(), list -> list.stream()
            .sorted(java.util.Comparator.comparingLong(TopicRecords.Seen::offset)).toList())));
    Map<String, List<String>> expected = expectedPerKey();
    assertThat(byKey.keySet()).as("seed %d", outcome.seed).isEqualTo(expected.keySet());
    for (Map.Entry<String, List<String>> key : expected.entrySet()) {
      assertThat(byKey.get(key.getKey()).stream().map(KafkaSinkIT::describe).toList())
          .as("the records of %s, in their partition's order (seed %d)", key.getKey(), outcome.seed)
          .isEqualTo(key.getValue());
    }
    assertThat(outcome.records.stream().filter(s -> !s.tombstone()).count()).isEqualTo(EVENTS);
    assertThat(outcome.skipped).as("replayed events met the sink and were skipped (seed %d)", outcome.seed).isPositive();
    System.out.printf("Kafka sink, exactly-once: %,d events exactly once after 5 crashes and a cut connection; %,d replayed events"
        + " skipped; %d restarts (seed %d)%n", EVENTS, outcome.skipped, outcome.restarts, outcome.seed);
  }

  @Test
  void atLeastOnceEveryEventAtLeastOnceWithBoundedDuplicatesAfterFiveCrashesAndACutConnection() throws Exception {
    Outcome outcome = crashAndRecover(DeliveryGuarantee.AT_LEAST_ONCE);
    List<TopicRecords.Seen> events = outcome.records.stream().filter(s -> !s.tombstone()).toList();
    long distinct = events.stream().map(TopicRecords.Seen::token).distinct().count();
    long duplicates = events.size() - distinct;
    assertThat(distinct).as("every event at least once (seed %d)", outcome.seed).isEqualTo(EVENTS);
    // Each crash replays at most N + K events, each failed run at most N.
    long bound = 5L * (WINDOW + THROTTLE) + outcome.restarts * WINDOW;
    assertThat(duplicates).as("duplicates within 5 × (N + K) + restarts × N (seed %d)", outcome.seed).isLessThanOrEqualTo(bound);
    Map<String, List<String>> expected = expectedPerKey();
    Map<String, List<TopicRecords.Seen>> byKey = outcome.records.stream().collect(Collectors.groupingBy(TopicRecords.Seen::key));
    for (Map.Entry<String, List<String>> key : expected.entrySet()) {
      List<TopicRecords.Seen> records = new ArrayList<>(byKey.get(key.getKey()));
      records.sort(java.util.Comparator.comparingLong(TopicRecords.Seen::offset));
      List<String> last = key.getValue();
      assertThat(describe(records.get(records.size() - 1))).as("the last record of %s (seed %d)", key.getKey(), outcome.seed)
          .isEqualTo(last.get(last.size() - 1));
    }
    System.out.printf("Kafka sink, at-least-once: %,d events, %,d duplicates after 5 crashes and a cut connection (bound %,d);"
        + " %d restarts (seed %d)%n", EVENTS, duplicates, bound, outcome.restarts, outcome.seed);
  }

  /**
   * A record the broker refuses (larger than the topic allows) aborts its transaction: none of the
   * transaction's records is visible, the run ends and the next one replays them; once the topic
   * takes it, every event is there exactly once.
   */
  @Test
  void anAbortedTransactionHidesItsRecordsAndTheReplayWritesThemOnce() throws Exception {
    String topic = "kafka-sink-abort-" + Long.toHexString(System.nanoTime());
    broker.createTopic(topic, 2, Map.of("max.message.bytes", "20000"));
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kafka-sink-abort", config);
      try {
        KafkaCheckpointStore store = KafkaCheckpointStore.create(system, checkpointSettings("abort"));
        KafkaSink sink = KafkaSink.create("big-docs", KafkaSinkSettings.create(config).withTopic(topic), store);
        PipelineControl control = Pipeline.named("big-docs")
            .mongoUri(mongo.uri())
            .collection("shop", "docs")
            .checkpoints(store)
            .parallelism(2)
            .via(sink.flow())
            .run(system);
        control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
        var docs = mongo.database("shop").getCollection("docs");
        for (int i = 0; i < 40; i++) docs.insertOne(new Document("_id", i).append("version", 0));
        docs.insertOne(new Document("_id", 40).append("version", 0).append("blob", "x".repeat(50_000)));
        for (int i = 41; i < 80; i++) docs.insertOne(new Document("_id", i).append("version", 0));

        Await.until(Duration.ofSeconds(60), () -> control.stats().restarts() >= 2, () -> "the refused record made runs restart");
        try (var admin = broker.admin()) {
          admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic),
              List.of(new AlterConfigOp(new ConfigEntry("max.message.bytes", "1000000"), AlterConfigOp.OpType.SET)))).all()
              .get(30, TimeUnit.SECONDS);
        }
        try (TopicRecords committed = TopicRecords.follow(broker.bootstrapServers(), topic, true)) {
          Await.until(Duration.ofSeconds(60), () -> committed.distinctEvents() >= 80, () -> "80 events committed");
          control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
          committed.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(30));
          List<TopicRecords.Seen> seen = committed.seen();
          assertThat(seen).hasSize(80);
          assertThat(seen.stream().map(TopicRecords.Seen::token).distinct()).hasSize(80);
        }
        try (TopicRecords everything = TopicRecords.follow(broker.bootstrapServers(), topic, false)) {
          everything.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(30));
          assertThat(everything.seen().size()).as("the aborted transactions' records are in the log, hidden from read_committed")
              .isGreaterThan(80);
        }
        assertThat(control.stats().restarts()).isGreaterThanOrEqualTo(2);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /**
   * A snapshot through the exactly-once sink, killed halfway: the copy resumes after the last saved
   * {@code _id}, the copied documents past it that a transaction committed are skipped, and then the
   * stream goes on. Each document's copy is in Kafka once, followed by its changes.
   */
  @Test
  void aSnapshotKilledHalfwayCopiesEachDocumentOnceThenStreams() throws Exception {
    String suffix = "snapshot-" + Long.toHexString(System.nanoTime());
    String topic = "kafka-sink-it-" + suffix;
    broker.createTopic(topic, 4, Map.of());
    KafkaSinkSettings sinkSettings = KafkaSinkSettings.create(config).withTopic(topic);
    KafkaCheckpointSettings checkpoints = checkpointSettings(suffix);
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        TopicRecords reader = TopicRecords.follow(broker.bootstrapServers(), topic, true)) {
      var docs = mongo.database("shop").getCollection("copied");
      for (int from = 0; from < 3_000; from += 500) {
        int start = from;
        docs.insertMany(java.util.stream.IntStream.range(start, start + 500).mapToObj(i -> new Document("_id", i).append("version", 0)).toList());
      }
      // The copy's time is the server's newest operation, and the stream includes changes at that time (a change made
      // as the copy starts is seen twice, by design): a write elsewhere keeps the last insert out of the stream.
      mongo.database("shop").getCollection("elsewhere").insertOne(new Document("_id", 0));
      // The first run copies documents 0 to 1,499 and stops at the next one (held), then is killed.
      CompletableFuture<Void> held = new CompletableFuture<>();
      ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "kafka-snapshot-first", config);
      try {
        KafkaCheckpointStore store = KafkaCheckpointStore.create(first, checkpoints);
        snapshotPipeline(mongo, store, KafkaSink.create("copied", sinkSettings, store), event ->
            event.documentKey().getInt32("_id").getValue() < 1_500 ? CompletableFuture.completedFuture(event) : held.thenApply(x -> event))
            .run(first);
        Await.until(Duration.ofSeconds(60), () -> reader.seen().size() >= 1_500, () -> "1,500 documents copied");
      } finally {
        first.terminate();
        first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      long written;
      ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "kafka-snapshot-second", config);
      try {
        KafkaCheckpointStore store = KafkaCheckpointStore.create(second, checkpoints);
        KafkaSink sink = KafkaSink.create("copied", sinkSettings, store);
        PipelineControl control = snapshotPipeline(mongo, store, sink, CompletableFuture::completedFuture).run(second);
        assertThat(control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS).describe())
            .as("the second run goes on with the copy").startsWith("snapshot");
        Await.until(Duration.ofSeconds(60), () -> reader.seen().size() >= 3_000, () -> "every document copied");
        for (int i = 0; i < 300; i++) docs.replaceOne(Filters.eq("_id", i), new Document("_id", i).append("version", 1));
        Await.until(Duration.ofSeconds(60), () -> reader.seen().size() >= 3_300, () -> "the changes after the copy");
        control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        reader.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(30));
        written = sink.written();
      } finally {
        second.terminate();
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      Map<String, List<String>> byKey = reader.byKey().entrySet().stream().collect(Collectors.toMap(Map.Entry::getKey,
          entry -> entry.getValue().stream().map(KafkaSinkIT::describe).toList()));
      assertThat(byKey).hasSize(3_000);
      for (int i = 0; i < 3_000; i++) {
        assertThat(byKey.get("{\"_id\": " + i + "}")).as("document %d", i)
            .isEqualTo(i < 300 ? List.of("snapshot v0", "replace v1") : List.of("snapshot v0"));
      }
      assertThat(written).as("the second run wrote the 1,500 documents not copied yet and the 300 changes").isEqualTo(1_800);
    }
  }

  private static io.tidemark.pipeline.PipelineBuilder<akka.Done> snapshotPipeline(
      FaultyMongo mongo, KafkaCheckpointStore store, KafkaSink sink,
      java.util.function.Function<ChangeEnvelope, java.util.concurrent.CompletionStage<ChangeEnvelope>> gate) {
    return Pipeline.named("copied")
        .mongoUri(mongo.uri())
        .collection("shop", "copied")
        .startup(io.tidemark.source.StartupMode.SNAPSHOT_THEN_STREAM)
        .checkpoints(store)
        .windowSettings(WindowSettings.of(WINDOW, THROTTLE, Duration.ofMillis(100)))
        .parallelism(4)
        .mapAsync(gate)
        .via(sink.flow());
  }

  private record Outcome(List<TopicRecords.Seen> records, long skipped, long restarts, long seed) {}

  private Outcome crashAndRecover(DeliveryGuarantee guarantee) throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    String suffix = guarantee.label() + "-" + Long.toHexString(seed);
    String topic = "kafka-sink-it-" + suffix;
    broker.createTopic(topic, 4, Map.of());
    KafkaSinkSettings sinkSettings = KafkaSinkSettings.create(config).withGuarantee(guarantee).withTopic(topic);
    KafkaCheckpointSettings checkpointSettings = checkpointSettings(suffix);
    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        TopicRecords reader = TopicRecords.follow(broker.bootstrapServers(), topic, true)) {
      CompletableFuture<Void> writer = null;
      long skipped = 0;
      long restarts = 0;
      for (int crash = 0; crash <= 5; crash++) {
        boolean last = crash == 5;
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "kafka-sink-" + crash, config);
        MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
        KafkaCheckpointStore kafkaStore = KafkaCheckpointStore.create(system, checkpointSettings);
        CheckpointStore store = guarantee == DeliveryGuarantee.EXACTLY_ONCE ? kafkaStore
            : MongoCheckpointStore.create(client, MongoCheckpointSettings.create(config).withDatabase("kafka_sink_it"));
        KafkaSink sink = KafkaSink.create(STREAM, sinkSettings, kafkaStore);
        try {
          PipelineControl control = Pipeline.named(STREAM)
              .mongoUri(mongo.uri())
              .collection("shop", "orders")
              .checkpoints(store)
              .windowSettings(WindowSettings.of(WINDOW, THROTTLE, Duration.ofMillis(100)))
              .parallelism(4)
              .via(sink.flow())
              .run(system);
          if (writer == null) {
            control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
            writer = CompletableFuture.runAsync(() -> writeOrders(mongo));
          }
          if (crash == 2) {
            // The broker connection is cut mid-run: the run goes on once it is back.
            long before = reader.distinctEvents();
            Await.until(Duration.ofSeconds(60), () -> sink.written() >= 200, () -> "the run wrote 200 events (seed " + seed + ")");
            assertThat(broker.cutConnections(Duration.ofSeconds(3))).as("client connections cut").isPositive();
            Await.until(Duration.ofSeconds(90), () -> reader.distinctEvents() >= before + 1_000,
                () -> "1,000 more events after the cut connection (seed " + seed + ")");
          }
          if (last) {
            writer.get(120, TimeUnit.SECONDS);
            Await.until(Duration.ofSeconds(120), () -> reader.distinctEvents() >= EVENTS,
                () -> "every event in Kafka (" + reader.distinctEvents() + " so far, seed " + seed + ")");
            control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
          } else {
            long stopAt = Math.min(EVENTS - 1_000, reader.distinctEvents() + 500 + random.nextInt(2_500));
            Await.until(Duration.ofSeconds(90), () -> reader.distinctEvents() >= stopAt,
                () -> "the sink wrote up to " + stopAt + " events (" + reader.distinctEvents() + " so far, seed " + seed + ")");
          }
          restarts += control.stats().restarts();
        } finally {
          system.terminate(); // abrupt but for the last run: no drain, no checkpoint flush
          system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
          sink.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
          client.close();
          skipped += sink.skipped();
        }
      }
      reader.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(60));
      return new Outcome(reader.seen(), skipped, restarts, seed);
    }
  }

  private KafkaCheckpointSettings checkpointSettings(String suffix) {
    return KafkaCheckpointSettings.create(config).withTopic("kafka-sink-it-checkpoints-" + suffix);
  }

  private static String describe(TopicRecords.Seen seen) {
    return seen.tombstone() ? "tombstone" : seen.operation() + (seen.version() == null ? "" : " v" + seen.version());
  }

  /** What each key's records must be, in order: insert v0, replacements v1..v8 (v9 for 90 of each 100), or a delete and its tombstone. */
  private static Map<String, List<String>> expectedPerKey() {
    Map<String, List<String>> expected = new HashMap<>();
    for (int round = 0; round < ROUNDS; round++) {
      for (int i = 0; i < PER_ROUND; i++) {
        List<String> records = new ArrayList<>();
        records.add("insert v0");
        for (int pass = 1; pass <= 8; pass++) records.add("replace v" + pass);
        if (i < 90) {
          records.add("replace v9");
        } else {
          records.add("delete");
          records.add("tombstone");
        }
        expected.put("{\"_id\": " + (round * PER_ROUND + i) + "}", records);
      }
    }
    return expected;
  }

  /** 20 rounds of 1,000 events on shop.orders: 100 inserts, 8 passes of 100 replacements, 90 more, 10 deletes. */
  private static void writeOrders(FaultyMongo mongo) {
    var orders = mongo.database("shop").getCollection("orders");
    for (int round = 0; round < ROUNDS; round++) {
      int base = round * PER_ROUND;
      List<Document> inserts = new ArrayList<>();
      for (int i = 0; i < PER_ROUND; i++) inserts.add(new Document("_id", base + i).append("version", 0));
      orders.insertMany(inserts);
      for (int pass = 1; pass <= 9; pass++) {
        List<WriteModel<Document>> replaces = new ArrayList<>();
        for (int i = 0; i < (pass == 9 ? 90 : PER_ROUND); i++) {
          replaces.add(new ReplaceOneModel<>(Filters.eq("_id", base + i), new Document("_id", base + i).append("version", pass)));
        }
        orders.bulkWrite(replaces);
      }
      orders.deleteMany(Filters.and(Filters.gte("_id", base + 90), Filters.lt("_id", base + PER_ROUND)));
    }
  }
}
