package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.KafkaBroker;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.checkpoint.KafkaCheckpointSettings;
import io.tidemark.checkpoint.KafkaCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.testkit.FaultyMongo;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * Two consumers of one stream at once, as a node cut off from the cluster and its successor would
 * be: the first is paused with records in an open transaction; the second starts, and its
 * {@code initTransactions} fences the first. The first one's open transaction is aborted, its later
 * transaction cannot commit, and it stops; a {@code read_committed} reader sees nothing it wrote
 * after the takeover, and every event exactly once.
 */
class KafkaFencingIT {
  private static final String STREAM = "fenced-orders";

  private final KafkaBroker broker = KafkaBroker.shared();
  private final Config config = ConfigFactory.parseString(
          "tidemark.oplog.monitor = off\n"
              + "tidemark.sink.kafka.bootstrap-servers = \"" + broker.bootstrapServers() + "\"")
      .withFallback(ConfigFactory.load());

  @Test
  void aNewConsumerFencesThePausedOneWhoseTransactionNeverBecomesVisible() throws Exception {
    String suffix = Long.toHexString(System.nanoTime());
    String topic = "kafka-fencing-it-" + suffix;
    broker.createTopic(topic, 3, Map.of());
    KafkaCheckpointSettings checkpoints = KafkaCheckpointSettings.create(config).withTopic("kafka-fencing-it-checkpoints-" + suffix);
    KafkaSinkSettings sinkSettings = KafkaSinkSettings.create(config).withTopic(topic);
    CompletableFuture<Void> gate = new CompletableFuture<>();

    try (FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        TopicRecords committed = TopicRecords.follow(broker.bootstrapServers(), topic, true);
        TopicRecords everything = TopicRecords.follow(broker.bootstrapServers(), topic, false)) {
      var orders = mongo.database("shop").getCollection("orders");
      ActorSystem<Void> first = ActorSystem.create(Behaviors.empty(), "fencing-first", config);
      ActorSystem<Void> second = ActorSystem.create(Behaviors.empty(), "fencing-second", config);
      try {
        // The first consumer commits a transaction every 100 events, and otherwise never.
        KafkaCheckpointStore firstStore = KafkaCheckpointStore.create(first, checkpoints.withCommit(Duration.ofHours(1), 100));
        PipelineControl firstRun = Pipeline.named(STREAM)
            .mongoUri(mongo.uri())
            .collection("shop", "orders")
            .checkpoints(firstStore)
            .parallelism(4)
            .mapAsync((ChangeEnvelope event) -> id(event) < 110 ? CompletableFuture.completedFuture(event) : gate.thenApply(open -> event))
            .via(KafkaSink.create(STREAM, sinkSettings, firstStore).flow())
            .run(first);
        firstRun.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);

        orders.insertMany(IntStream.range(0, 100).mapToObj(i -> new Document("_id", i)).toList());
        Await.until(Duration.ofSeconds(60), () -> committed.distinctEvents() == 100, () -> "the first consumer committed 100 events");
        // 10 more go into the first consumer's open transaction; then it stops at its gate (paused).
        orders.insertMany(IntStream.range(100, 200).mapToObj(i -> new Document("_id", i)).toList());
        Await.until(Duration.ofSeconds(60), () -> everything.seen().size() == 110, () -> "10 records in the open transaction");
        assertThat(committed.distinctEvents()).isEqualTo(100);

        KafkaCheckpointStore secondStore = KafkaCheckpointStore.create(second, checkpoints);
        KafkaSink secondSink = KafkaSink.create(STREAM, sinkSettings, secondStore);
        PipelineControl secondRun = Pipeline.named(STREAM)
            .mongoUri(mongo.uri())
            .collection("shop", "orders")
            .checkpoints(secondStore)
            .parallelism(4)
            .handle(secondSink.handler())
            .run(second);
        Await.until(Duration.ofSeconds(60), () -> committed.distinctEvents() == 200, () -> "the second consumer wrote the rest");

        // The first consumer goes on: its next transaction is refused, and it stops.
        gate.complete(null);
        Throwable stopped = Await.failureOf(firstRun.completion());
        assertThat(stopped).isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");

        secondRun.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
        committed.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(30));
        everything.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(30));

        List<TopicRecords.Seen> visible = committed.seen();
        assertThat(visible).hasSize(200);
        assertThat(visible.stream().map(TopicRecords.Seen::token).distinct()).hasSize(200);
        Map<Long, List<Integer>> byEpoch = visible.stream().collect(Collectors.groupingBy(TopicRecords.Seen::epoch,
            Collectors.mapping(KafkaFencingIT::id, Collectors.toList())));
        assertThat(byEpoch.keySet()).containsExactlyInAnyOrder(1L, 2L);
        assertThat(byEpoch.get(1L)).as("what the first consumer committed before the takeover, and nothing after")
            .containsExactlyInAnyOrderElementsOf(IntStream.range(0, 100).boxed().toList());
        assertThat(byEpoch.get(2L)).containsExactlyInAnyOrderElementsOf(IntStream.range(100, 200).boxed().toList());
        assertThat(secondSink.written()).as("the second consumer wrote exactly what the first had not committed").isEqualTo(100);
        // The open transaction's records are in the log, aborted.
        assertThat(everything.seen().stream().filter(s -> s.epoch() == 1 && id(s) >= 100).map(KafkaFencingIT::id))
            .containsExactlyInAnyOrderElementsOf(IntStream.range(100, 110).boxed().toList());
      } finally {
        gate.complete(null);
        first.terminate();
        second.terminate();
        first.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
        second.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  private static int id(ChangeEnvelope event) {
    return event.documentKey().getInt32("_id").getValue();
  }

  private static int id(TopicRecords.Seen seen) {
    return org.bson.BsonDocument.parse(seen.key()).getInt32("_id").getValue();
  }
}
