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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The Kafka checkpoint store against a real broker: what every checkpoint store must do (the
 * contract of {@code JdbcCheckpointStoreContract} and {@code MongoCheckpointStoreIT}: durable
 * across stores, one record per stream, opened once, fencing by epoch, never backwards, a corrupt
 * value reported and left), and what only this one does: a fenced producer's open transaction
 * never commits.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KafkaCheckpointStoreIT {
  private final KafkaBroker broker = KafkaBroker.shared();
  private final ActorTestKit testKit = ActorTestKit.create("kafka-checkpoint-it");
  private final KafkaCheckpointSettings settings = KafkaCheckpointSettings.create(ConfigFactory.load())
      .withBootstrapServers(broker.bootstrapServers())
      .withTopic("checkpoints-it-" + Long.toHexString(System.nanoTime()));

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private KafkaCheckpointStore newStore() {
    return KafkaCheckpointStore.create(testKit.system(), settings);
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static Checkpoint checkpointAt(String stream, long seqNr) {
    ChangeEnvelope envelope = Envelopes.insert(seqNr);
    return Checkpoint.atToken(stream, envelope.resumeToken(), envelope.clusterTime());
  }

  @Test
  void aSavedCheckpointIsReadBackByAnotherStoreWithTheNextEpoch() throws Exception {
    StreamCheckpoints orders = await(newStore().open("orders"));
    assertThat(await(orders.load())).isEmpty();
    long epoch = await(orders.acquire()).epoch();
    assertThat(epoch).isEqualTo(1);
    await(orders.save(checkpointAt("orders", 41), epoch));
    await(orders.save(checkpointAt("orders", 42), epoch));
    await(orders.close());

    StreamCheckpoints again = await(newStore().open("orders"));
    Acquired acquired = await(again.acquire());
    assertThat(acquired.epoch()).isEqualTo(2);
    assertThat(acquired.checkpoint()).contains(checkpointAt("orders", 42));
    assertThat(acquired.checkpoint().get().epoch()).isEqualTo(1);
    assertThat(acquired.checkpoint().get().position().describe()).isEqualTo("resumeAfter " + Envelopes.insert(42).resumeToken().toJson());
    await(again.close());
  }

  @Test
  void aStreamIsOpenedOncePerStoreAndTwoStreamsNeverShareACheckpoint() throws Exception {
    KafkaCheckpointStore store = newStore();
    StreamCheckpoints a = await(store.open("stream-a"));
    assertThat(Await.failureOf(store.open("stream-a"))).hasMessageContaining("already open in this process");
    StreamCheckpoints b = await(store.open("stream-b"));
    long epochA = await(a.acquire()).epoch();
    long epochB = await(b.acquire()).epoch();
    await(a.save(checkpointAt("stream-a", 7), epochA));
    await(b.save(checkpointAt("stream-b", 9), epochB));
    await(a.save(checkpointAt("stream-a", 8), epochA));
    assertThat(await(a.load())).contains(checkpointAt("stream-a", 8));
    assertThat(await(b.load())).contains(checkpointAt("stream-b", 9));
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> b.save(checkpointAt("stream-a", 10), epochB))
        .hasMessageContaining("through the record of 'stream-b'");
    await(a.close());
    await(b.close());
    assertThat(await(await(store.open("stream-a")).load())).contains(checkpointAt("stream-a", 8));
  }

  /** A partitioned old leader and its successor, each with its own store and producer, as on two nodes. */
  @Test
  void aFencedConsumerCannotWriteAndTheCheckpointNeverMovesBackwards() throws Exception {
    StreamCheckpoints oldLeader = await(newStore().open("contested"));
    long oldEpoch = await(oldLeader.acquire()).epoch();
    await(oldLeader.save(checkpointAt("contested", 100), oldEpoch));

    StreamCheckpoints newLeader = await(newStore().open("contested"));
    Acquired taken = await(newLeader.acquire());
    assertThat(taken.epoch()).isGreaterThan(oldEpoch);
    assertThat(taken.checkpoint()).contains(checkpointAt("contested", 100));

    for (long seqNr : new long[] {150, 101, 300}) {
      assertThat(Await.failureOf(oldLeader.save(checkpointAt("contested", seqNr), oldEpoch)))
          .isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
    }
    await(newLeader.save(checkpointAt("contested", 120), taken.epoch()));
    assertThat(Await.failureOf(newLeader.save(checkpointAt("contested", 110), taken.epoch())))
        .isInstanceOf(FencedException.class).hasMessageContaining("backwards");
    assertThat(Await.failureOf(newLeader.save(checkpointAt("contested", 130), oldEpoch)))
        .isInstanceOf(FencedException.class).hasMessageContaining("is older than the stream's epoch");
    await(newLeader.save(checkpointAt("contested", 130), taken.epoch()));
    assertThat(Await.failureOf(oldLeader.save(checkpointAt("contested", 400), oldEpoch))).isInstanceOf(FencedException.class);

    Checkpoint stored = await(newLeader.load()).orElseThrow();
    assertThat(stored).isEqualTo(checkpointAt("contested", 130));
    assertThat(stored.epoch()).isEqualTo(taken.epoch());
    assertThat(await(newLeader.history())).extracting(Checkpoint::clusterTime)
        .containsExactly(checkpointAt("", 100).clusterTime(), checkpointAt("", 120).clusterTime(), checkpointAt("", 130).clusterTime());
    await(oldLeader.close());
    await(newLeader.close());
  }

  /**
   * Consumers racing for one stream: each acquire that succeeds takes its own epoch, and one that
   * loses the race (a later producer initialised before it committed) is fenced, never handed an
   * epoch another consumer also holds.
   */
  @Test
  void racingAcquiresTakeDistinctEpochsAndTheLosersAreFenced() throws Exception {
    List<StreamCheckpoints> records = new ArrayList<>();
    for (int i = 0; i < 6; i++) records.add(await(newStore().open("raced")));
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
    StreamCheckpoints busy = await(newStore().open("busy"));
    StreamCheckpoints other = await(newStore().open("busy-neighbour"));
    long epoch = await(busy.acquire()).epoch();
    long otherEpoch = await(other.acquire()).epoch();
    for (long seqNr = 1; seqNr <= 250; seqNr++) await(busy.save(checkpointAt("busy", seqNr), epoch));
    // The neighbour's records follow on the same partition: the reader must look past them.
    for (long seqNr = 1; seqNr <= 300; seqNr++) await(other.save(checkpointAt("busy-neighbour", seqNr), otherEpoch));
    await(busy.close());
    assertThat(await(await(newStore().open("busy")).load())).contains(checkpointAt("busy", 250));
    await(other.close());
  }

  @Test
  void theHistoryKeepsNotableEntriesApartFromRoutineOnes() throws Exception {
    KafkaCheckpointStore store = KafkaCheckpointStore.create(testKit.system(), settings.withHistorySize(5));
    StreamCheckpoints record = await(store.open("historic"));
    long epoch = await(record.acquire()).epoch();
    await(record.save(checkpointAt("historic", 1).as(CheckpointKind.GAP, "skipped 3 events"), epoch));
    for (long seqNr = 2; seqNr <= 30; seqNr++) await(record.save(checkpointAt("historic", seqNr), epoch));
    List<Checkpoint> history = await(record.history());
    assertThat(history).hasSize(6);
    assertThat(history.get(0).kind()).isEqualTo(CheckpointKind.GAP);
    assertThat(history.get(0).note()).isEqualTo("skipped 3 events");
    assertThat(history.get(history.size() - 1)).isEqualTo(checkpointAt("historic", 30));
    await(record.close());
  }

  @Test
  void snapshotProgressIsKeptWithItsIdType() throws Exception {
    StreamCheckpoints copying = await(newStore().open("copying"));
    long epoch = await(copying.acquire()).epoch();
    org.bson.BsonTimestamp at = new org.bson.BsonTimestamp(1_700_000_000, 1);
    org.bson.types.ObjectId last = new org.bson.types.ObjectId();
    await(copying.save(Checkpoint.snapshot("copying", at, null, null), epoch));
    await(copying.save(Checkpoint.snapshot("copying", at, new org.bson.BsonObjectId(last), null), epoch));
    await(copying.close());

    StreamCheckpoints again = await(newStore().open("copying"));
    Checkpoint stored = await(again.acquire()).checkpoint().orElseThrow();
    assertThat(stored.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(stored.snapshot().get("_id")).isEqualTo(new org.bson.BsonObjectId(last));
    await(again.close());
  }

  @Test
  void aCorruptStoredCheckpointIsReportedAndLeftAsItIs() throws Exception {
    newStore().ensureTopic();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()), new ByteArraySerializer(), new ByteArraySerializer())) {
      String value = "{\"stream\": \"corrupt\", \"epoch\": 3, \"checkpoint\": {\"kind\": \"event\", \"token\": \"not-a-token\"}}";
      producer.send(new ProducerRecord<>(settings.topic, "corrupt".getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8)))
          .get(30, TimeUnit.SECONDS);
    }
    StreamCheckpoints corrupt = await(newStore().open("corrupt"));
    Acquired acquired = await(corrupt.acquire());
    assertThat(acquired.epoch()).isEqualTo(4);
    assertThat(acquired.checkpoint()).isEmpty();
    assertThat(acquired.corruption()).hasMessageContaining("stream 'corrupt'").hasMessageContaining("not-a-token")
        .hasMessageContaining("is not a resume token");
    await(corrupt.close());
    // Taking the epoch wrote the value back as it was.
    assertThat(Await.failureOf(await(newStore().open("corrupt")).load())).isInstanceOf(CorruptCheckpointException.class)
        .hasMessageContaining("not-a-token");
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
}
