package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.KafkaBroker;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint contract on Kafka, a real broker (each store with producers of its own, as on
 * another node); and what only this store does: the newest record found behind other streams'
 * records, racing producers, a topic that is not compacted, and a fenced producer's open
 * transaction that never commits.
 */
class KafkaCheckpointStoreIT extends CheckpointStoreContract {
  private final KafkaBroker broker = KafkaBroker.shared();
  private final ActorTestKit testKit = ActorTestKit.create("kafka-checkpoint-it");
  private final KafkaCheckpointSettings settings = KafkaCheckpointSettings.create(ConfigFactory.load())
      .withBootstrapServers(broker.bootstrapServers())
      .withTopic("checkpoints-it-" + Long.toHexString(System.nanoTime()))
      .withHistorySize(10);

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Override
  KafkaCheckpointStore newStore() {
    return KafkaCheckpointStore.create(testKit.system(), settings);
  }

  @Override
  int historySize() {
    return settings.historySize;
  }

  @Override
  boolean storeCorruptToken(String stream, String raw) throws Exception {
    newStore().ensureTopic();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      String value = "{\"stream\": \"" + stream + "\", \"epoch\": 3, \"checkpoint\": {\"kind\": \"event\", \"token\": \"" + raw + "\"}}";
      producer.send(new ProducerRecord<>(settings.topic, stream.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)))
          .get(30, TimeUnit.SECONDS);
    }
    return true;
  }

  /**
   * Consumers racing for one stream: each acquire that succeeds takes its own epoch, and one that
   * loses the race (a later producer initialised before it committed) is fenced, never handed an
   * epoch another consumer also holds.
   */
  @Test
  void racingAcquiresTakeDistinctEpochsAndTheLosersAreFenced() throws Exception {
    String raced = stream("raced");
    List<StreamCheckpoints> records = new ArrayList<>();
    for (int i = 0; i < 6; i++) records.add(await(newStore().open(raced)));
    List<CompletableFuture<Acquired>> racing = records.stream().map(r -> r.acquire().toCompletableFuture()).toList();
    List<Long> epochs = new ArrayList<>();
    for (CompletableFuture<Acquired> acquire : racing) {
      Throwable failure = Await.failureOf(acquire);
      if (failure == null) epochs.add(acquire.join().epoch());
      else assertThat(failure).isInstanceOf(FencedException.class);
    }
    assertThat(epochs).isNotEmpty().doesNotHaveDuplicates();
    for (StreamCheckpoints record : records) await(record.close());
  }

  @Test
  void theNewestOfManySavesIsFoundBehindTheTopicsOtherRecords() throws Exception {
    String busyName = stream("busy");
    String neighbour = stream("busy-neighbour");
    StreamCheckpoints busy = await(newStore().open(busyName));
    StreamCheckpoints other = await(newStore().open(neighbour));
    long epoch = await(busy.acquire()).epoch();
    long otherEpoch = await(other.acquire()).epoch();
    for (long seqNr = 1; seqNr <= 250; seqNr++) await(busy.save(checkpointAt(busyName, seqNr), epoch));
    // The neighbour's records follow on the same partition: the reader must look past them.
    for (long seqNr = 1; seqNr <= 300; seqNr++) await(other.save(checkpointAt(neighbour, seqNr), otherEpoch));
    await(busy.close());
    assertThat(await(await(newStore().open(busyName)).load())).contains(checkpointAt(busyName, 250));
    await(other.close());
  }

  @Test
  void aTopicThatIsNotCompactedIsRefused() throws Exception {
    broker.createTopic("not-compacted-checkpoints", 1, Map.of("cleanup.policy", "delete"));
    KafkaCheckpointStore store = KafkaCheckpointStore.create(testKit.system(), settings.withTopic("not-compacted-checkpoints"));
    StreamCheckpoints record = await(store.open("deleting"));
    assertThat(Await.failureOf(record.acquire())).isInstanceOf(io.tidemark.TidemarkException.class)
        .hasMessageContaining("cleanup.policy=delete").hasMessageContaining("must be compacted");
    await(record.close());
  }

  @Test
  void anUnreachableClusterIsReportedAsUnavailableInBoundedTime() throws Exception {
    KafkaCheckpointSettings nowhere = settings.withBootstrapServers("127.0.0.1:" + Clusters.freePort()).withTimeout(Duration.ofSeconds(2));
    StreamCheckpoints lost = await(KafkaCheckpointStore.create(testKit.system(), nowhere).open("lost"));
    long started = System.nanoTime();
    assertThat(Await.failureOf(lost.acquire())).isInstanceOf(CheckpointStoreUnavailableException.class)
        .hasMessageContaining("could not check the checkpoint topic");
    assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(20));
    await(lost.close());
  }

  /**
   * A consumer writes an event into its open transaction and stops there (paused, or cut off); a
   * new consumer takes the stream. It reads the last committed record, without the event; when the
   * old consumer goes on, its transaction cannot commit: its writes and saves fail as fenced.
   */
  @Test
  void aFencedConsumersOpenTransactionNeverCommits() throws Exception {
    KafkaCheckpointSettings slow = settings.withCommit(Duration.ofHours(1), 2);
    StreamCheckpoints old = await(KafkaCheckpointStore.create(testKit.system(), slow).open("zombie"));
    long oldEpoch = await(old.acquire()).epoch();
    await(old.save(checkpointAt("zombie", 10), oldEpoch));
    ChangeEnvelope event = Envelopes.event(11, 11, "k");
    CompletableFuture<Boolean> written = ((KafkaStreamTransaction) old).write(event, List.of(record("k"))).toCompletableFuture();

    StreamCheckpoints successor = await(newStore().open("zombie"));
    Acquired taken = await(successor.acquire());
    assertThat(taken.epoch()).isEqualTo(oldEpoch + 1);
    assertThat(taken.checkpoint()).contains(checkpointAt("zombie", 10));
    // The old consumer's open write is not taken for written: the same event is new to the successor.
    assertThat(await(((KafkaStreamTransaction) successor).write(event, List.of()))).isTrue();

    // The old consumer's second event makes its transaction commit: refused.
    CompletableFuture<Boolean> next = ((KafkaStreamTransaction) old).write(Envelopes.event(12, 12, "j"), List.of(record("j")))
        .toCompletableFuture();
    assertThat(Await.failureOf(next)).isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
    assertThat(Await.failureOf(written)).isInstanceOf(FencedException.class);
    assertThat(Await.failureOf(old.save(checkpointAt("zombie", 12), oldEpoch))).isInstanceOf(FencedException.class);
    assertThat(await(successor.load())).contains(checkpointAt("zombie", 10));
    await(old.close());
    await(successor.close());
  }

  private static ProducerRecord<byte[], byte[]> record(String key) {
    return new ProducerRecord<>("zombie-out", key.getBytes(StandardCharsets.UTF_8), "v".getBytes(StandardCharsets.UTF_8));
  }

  /** Not a case here: the Kafka store has no admin (checkpoints CLI support for Kafka is not built yet). */
  @Override
  void theAdminRewindsAndResetsUnderANewEpoch() {}
}
