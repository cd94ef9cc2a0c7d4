package io.tidemark.bench;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.KafkaBroker;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.KafkaCheckpointSettings;
import io.tidemark.checkpoint.KafkaCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.sink.DeliveryGuarantee;
import io.tidemark.sink.KafkaRecords;
import io.tidemark.sink.KafkaSink;
import io.tidemark.sink.KafkaSinkSettings;
import io.tidemark.source.ChangeEnvelope;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * The Kafka sink against a bare {@code KafkaProducer} loop writing the same records, side by side in
 * each round: (a) the bare loop with the at-least-once producer's settings (idempotent, acks=all),
 * (a′) the same loop with a transactional producer committing as the checkpoint store does, (n) a
 * Tidemark pipeline with no sink (what reading the change stream costs), (b) the pipeline into the
 * at-least-once sink, (c) into the exactly-once sink with its checkpoints on the Kafka topic. Events
 * per second from the first event to the last one acknowledged (committed, for a′ and c); a fresh
 * topic per run.
 */
final class KafkaBenchmark {
  private KafkaBenchmark() {}

  static final String BARE = "(a) bare KafkaProducer loop";
  static final String BARE_TRANSACTIONAL = "(a′) bare transactional loop";
  static final String NO_SINK = "(n) Tidemark, no sink";
  static final String AT_LEAST_ONCE = "(b) Tidemark → KafkaSink, at-least-once";
  static final String EXACTLY_ONCE = "(c) Tidemark → KafkaSink, exactly-once";
  static final List<String> CONSUMERS = List.of(BARE, BARE_TRANSACTIONAL, NO_SINK, AT_LEAST_ONCE, EXACTLY_ONCE);
  static final int PARALLELISM = 4;
  static final int PARTITIONS = 4;
  static final int WARM_UP_ROUNDS = 1;

  record Run(String consumer, int round, long events, long nanos) {
    double eventsPerSecond() {
      return events * 1e9 / nanos;
    }
  }

  static void run(int events, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    System.out.printf("== kafka: %,d pre-written change events written to Kafka by %s; %d rounds after %d warm-up%n",
        events, String.join(", ", CONSUMERS), rounds, WARM_UP_ROUNDS);
    KafkaBroker broker = KafkaBroker.shared();
    String servers = broker.directBootstrapServers();
    Config config = ConfigFactory.parseString("akka.loglevel = WARNING\ntidemark.oplog.monitor = off\n"
        + "tidemark.sink.kafka.bootstrap-servers = \"" + servers + "\"").withFallback(ConfigFactory.load());
    KafkaSinkSettings sinkSettings = KafkaSinkSettings.create(config);
    KafkaCheckpointSettings checkpointSettings = KafkaCheckpointSettings.create(config).withTopic("bench-checkpoints");
    List<Run> runs = new ArrayList<>();
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(Math.max(500_000L, 2L * events));
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      System.out.printf("writing %,d events%n", events);
      BenchEvents.insert(sync, 0, events);
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      List<ProducerRecord<byte[], byte[]>> records = records(sync, from, events, sinkSettings);
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-kafka", config);
      try {
        KafkaCheckpointStore kafkaStore = KafkaCheckpointStore.create(system, checkpointSettings);
        for (int round = 1 - WARM_UP_ROUNDS; round <= rounds; round++) {
          for (String consumer : CONSUMERS) {
            String topic = "bench-" + round + "-" + CONSUMERS.indexOf(consumer) + "-" + Long.toHexString(System.nanoTime());
            String stream = "bench-kafka-" + (round + 10) + "-" + CONSUMERS.indexOf(consumer) + "-" + Long.toHexString(System.nanoTime());
            broker.createTopic(topic, PARTITIONS, Map.of());
            Run run = switch (consumer) {
              case BARE -> bare(servers, topic, records, false, checkpointSettings, round);
              case BARE_TRANSACTIONAL -> bare(servers, topic, records, true, checkpointSettings, round);
              case NO_SINK -> pipeline(consumer, stream, system, InMemoryCheckpointStore.create(), null, mongo.connectionString(), from,
                  events, round);
              case AT_LEAST_ONCE -> pipeline(consumer, stream, system, InMemoryCheckpointStore.create(),
                  KafkaSink.create(stream, sinkSettings.withGuarantee(DeliveryGuarantee.AT_LEAST_ONCE).withTopic(topic), null),
                  mongo.connectionString(), from, events, round);
              case EXACTLY_ONCE -> pipeline(consumer, stream, system, kafkaStore,
                  KafkaSink.create(stream, sinkSettings.withGuarantee(DeliveryGuarantee.EXACTLY_ONCE).withTopic(topic), kafkaStore),
                  mongo.connectionString(), from, events, round);
              default -> throw new IllegalArgumentException(consumer);
            };
            System.out.printf(Locale.ROOT, "round %d %-42s %,9.0f events/s (%,d events in %,d ms)%s%n", round, consumer,
                run.eventsPerSecond(), run.events(), run.nanos() / 1_000_000, round <= 0 ? " (warm-up)" : "");
            if (round > 0) runs.add(run);
          }
        }
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    }
    String md = markdown(events, rounds, runs, checkpointSettings, Report.conditions(loadBefore, Report.loadAverage()));
    chart(runs);
    Report.writeSection("kafka", md);
    System.out.println(md);
  }

  /** The records the sink writes for the events, in the stream's order (format, key and headers as configured). */
  private static List<ProducerRecord<byte[], byte[]>> records(
      com.mongodb.client.MongoClient sync, BsonTimestamp from, int events, KafkaSinkSettings settings) {
    KafkaRecords format = KafkaRecords.create("bench", settings.withTopic("placeholder"));
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(events);
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = BenchEvents.collection(sync).watch()
        .startAtOperationTime(from).batchSize(1_000).cursor()) {
      for (int seqNr = 1; seqNr <= events; seqNr++) records.addAll(format.of(ChangeEnvelope.of(seqNr, cursor.next()), 0));
    }
    return records;
  }

  /** (a), (a′): the records sent in a loop, then flushed (committed), timed from the first send. */
  private static Run bare(String servers, String topic, List<ProducerRecord<byte[], byte[]>> records, boolean transactional,
      KafkaCheckpointSettings checkpoints, int round) throws Exception {
    Map<String, Object> properties = new java.util.HashMap<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, servers,
        ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
        ProducerConfig.ACKS_CONFIG, "all"));
    if (transactional) properties.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-bare-" + topic);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(properties, new ByteArraySerializer(), new ByteArraySerializer())) {
      if (transactional) producer.initTransactions();
      producer.partitionsFor(topic);
      long start = System.nanoTime();
      long opened = start;
      int inTransaction = 0;
      for (ProducerRecord<byte[], byte[]> template : records) {
        if (transactional && inTransaction == 0) {
          producer.beginTransaction();
          opened = System.nanoTime();
        }
        producer.send(new ProducerRecord<>(topic, null, template.key(), template.value(), template.headers()));
        inTransaction++;
        if (transactional && (inTransaction >= checkpoints.commitEvents
            || System.nanoTime() - opened >= checkpoints.commitInterval.toNanos())) {
          producer.commitTransaction();
          inTransaction = 0;
        }
      }
      if (transactional && inTransaction > 0) producer.commitTransaction();
      producer.flush();
      return new Run(transactional ? BARE_TRANSACTIONAL : BARE, round, records.size(), System.nanoTime() - start);
    }
  }

  /** (n), (b), (c): a pipeline from the first event, timed from the first event into the stages to the last out of the sink. */
  private static Run pipeline(String consumer, String stream, ActorSystem<?> system, CheckpointStore store, KafkaSink sink, String uri,
      BsonTimestamp from, int events, int round) throws Exception {
    AtomicLong first = new AtomicLong();
    AtomicLong done = new AtomicLong();
    CompletableFuture<Long> last = new CompletableFuture<>();
    PipelineBuilder<ChangeEnvelope> builder = Pipeline.named(stream)
        .mongoUri(uri)
        .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
        .startAtOperationTime(from)
        .checkpoints(store)
        .parallelism(PARALLELISM)
        .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> {
          first.compareAndSet(0, System.nanoTime());
          return event;
        }));
    FlowWithContext<Done, EventContext, Done, EventContext, akka.NotUsed> count = FlowWithContext.<Done, EventContext>create().map(d -> {
      if (done.incrementAndGet() == events) last.complete(System.nanoTime());
      return d;
    });
    PipelineControl control = sink == null
        ? builder.via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> Done.getInstance())).via(count).run(system)
        : builder.via(sink.flow()).via(count).run(system);
    control.completion().whenComplete((ok, error) -> last.completeExceptionally(
        error != null ? error : new IllegalStateException("the pipeline stopped before the last event")));
    try {
      long end = last.get(10, TimeUnit.MINUTES);
      return new Run(consumer, round, events, end - first.get());
    } finally {
      control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
      if (sink != null) sink.close().toCompletableFuture().get(1, TimeUnit.MINUTES);
    }
  }

  private static Stats rates(List<Run> runs, String consumer) {
    return Stats.of(runs.stream().filter(r -> r.consumer().equals(consumer)).map(Run::eventsPerSecond).toList());
  }

  /** x/y of each round. */
  private static Stats ratios(List<Run> runs, String x, String y) {
    List<Double> ratios = new ArrayList<>();
    for (Run top : runs) {
      if (!top.consumer().equals(x)) continue;
      runs.stream().filter(bottom -> bottom.consumer().equals(y) && bottom.round() == top.round()).findFirst()
          .ifPresent(bottom -> ratios.add(top.eventsPerSecond() / bottom.eventsPerSecond()));
    }
    return Stats.of(ratios);
  }

  private static void chart(List<Run> runs) throws Exception {
    List<Report.Bar> bars = new ArrayList<>();
    for (String consumer : CONSUMERS) {
      Stats stats = rates(runs, consumer);
      bars.add(new Report.Bar(consumer, stats.median(), consumer.substring(0, consumer.indexOf(')') + 1), stats.min(), stats.max()));
    }
    Report.barChart("kafka.svg", "Change events written to Kafka per second (median of the rounds; higher is better)", "events/s", bars);
  }

  static String markdown(int events, int rounds, List<Run> runs, KafkaCheckpointSettings checkpoints, String conditions) {
    String commits = String.format(Locale.ROOT, "every %,d records or %d ms", checkpoints.commitEvents, checkpoints.commitInterval.toMillis());
    StringBuilder md = new StringBuilder();
    md.append("## Kafka: the sink's two guarantees against a bare `KafkaProducer`\n\n");
    md.append(String.format(Locale.ROOT,
        "Command: `mvn -B -Pbench test-compile exec:exec -Dbench=kafka [-Dbench.events=%d] [-Dbench.rounds=%d]`. `KafkaBenchmark`:%n",
        events, rounds));
    md.append(String.format(Locale.ROOT,
        "%,d inserts pre-written to the embedded MongoDB (in memory, in the same JVM); a Kafka 3.9.1 broker (KRaft, one node, in a%n", events));
    md.append("JVM of its own on the same 2 cores, reached directly on loopback); each consumer writes the events' records (format\n");
    md.append(String.format(Locale.ROOT, "`change-event`, about 300 bytes) to a fresh topic of %d partitions, one after the other in each round, after%n", PARTITIONS));
    md.append(String.format(Locale.ROOT, "%d warm-up round: **(a)** a bare `KafkaProducer` loop sending the same records (built beforehand) with the%n",
        WARM_UP_ROUNDS));
    md.append("at-least-once sink's producer settings (idempotent, `acks=all`), then `flush()`; **(a′)** the same loop with a\n");
    md.append("transactional producer committing " + commits + ", as the checkpoint store does; **(n)** a Tidemark pipeline\n");
    md.append(String.format(Locale.ROOT, "with parallelism %d and no sink (what reading the change stream and the window cost); **(b)** the same pipeline into%n",
        PARALLELISM));
    md.append("`KafkaSink.flow()` at-least-once (checkpoints in memory); **(c)** into `KafkaSink.flow()` exactly-once, its checkpoints in the\n");
    md.append("same Kafka transactions (`KafkaCheckpointStore`, defaults: a commit " + commits + "; window 1,000, checkpoint\n");
    md.append("every 1,000 events or 1 s). Events per second from the first event sent (or entering the stages) to the last one\n");
    md.append("acknowledged (committed, for a′ and c).\n\n");
    md.append(conditions).append("\n\n");
    md.append("| writer | events/s, median | spread (min–max) |\n|---|---|---|\n");
    for (String consumer : CONSUMERS) {
      Stats stats = rates(runs, consumer);
      md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f – %,.0f |%n", consumer, stats.median(), stats.min(), stats.max()));
    }
    md.append("\n| ratio (round by round) | median | spread |\n|---|---|---|\n");
    String[][] pairs = {
        {AT_LEAST_ONCE, BARE, "b/a: at-least-once against the bare loop"},
        {EXACTLY_ONCE, BARE, "c/a: exactly-once against the bare loop"},
        {EXACTLY_ONCE, AT_LEAST_ONCE, "c/b: what exactly-once costs against at-least-once"},
        {EXACTLY_ONCE, BARE_TRANSACTIONAL, "c/a′: exactly-once against a bare transactional loop"},
        {AT_LEAST_ONCE, NO_SINK, "b/n: at-least-once against the pipeline with no sink"}};
    for (String[] pair : pairs) {
      Stats ratio = ratios(runs, pair[0], pair[1]);
      md.append(String.format(Locale.ROOT, "| %s | **%.2f** | %.2f – %.2f |%n", pair[2], ratio.median(), ratio.min(), ratio.max()));
    }
    md.append("\n![events per second written to Kafka](img/kafka.svg)\n\n");
    md.append(KafkaAnalysis.TEXT);
    return md.toString();
  }
}
