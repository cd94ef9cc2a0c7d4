package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import akka.kafka.ConsumerSettings;
import akka.kafka.ProducerSettings;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.regex.Pattern;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Settings of the Kafka checkpoint store, from {@code tidemark.checkpoint.kafka}; the Kafka clients'
 * own properties come from Alpakka Kafka's blocks, {@code akka.kafka.producer.kafka-clients} and
 * {@code akka.kafka.consumer.kafka-clients}.
 */
public final class KafkaCheckpointSettings {
  static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");

  public final String bootstrapServers;
  public final String topic;
  public final boolean createTopic;
  public final int partitions;
  /** -1: the broker's default. */
  public final short replicationFactor;
  public final String transactionalIdPrefix;
  public final Duration commitInterval;
  public final int commitEvents;
  public final Duration timeout;
  public final int historySize;
  public final int maxRecordBytes;
  public final ProducerSettings<byte[], byte[]> producerSettings;
  public final ConsumerSettings<byte[], byte[]> consumerSettings;

  private KafkaCheckpointSettings(
      String bootstrapServers, String topic, boolean createTopic, int partitions, short replicationFactor,
      String transactionalIdPrefix, Duration commitInterval, int commitEvents, Duration timeout, int historySize,
      int maxRecordBytes, ProducerSettings<byte[], byte[]> producerSettings, ConsumerSettings<byte[], byte[]> consumerSettings) {
    this.bootstrapServers = bootstrapServers;
    this.topic = topic;
    this.createTopic = createTopic;
    this.partitions = partitions;
    this.replicationFactor = replicationFactor;
    this.transactionalIdPrefix = transactionalIdPrefix;
    this.commitInterval = commitInterval;
    this.commitEvents = commitEvents;
    this.timeout = timeout;
    this.historySize = historySize;
    this.maxRecordBytes = maxRecordBytes;
    this.producerSettings = producerSettings;
    this.consumerSettings = consumerSettings;
  }

  public static KafkaCheckpointSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  /** From {@code tidemark.checkpoint.kafka} (and the sink's bootstrap servers when its own are empty) of a whole config. */
  public static KafkaCheckpointSettings create(Config config) {
    String p = "tidemark.checkpoint.kafka.";
    String servers = config.getString(p + "bootstrap-servers");
    if (servers.isBlank()) servers = ConfigCheck.nonEmptyString(config, "tidemark.sink.kafka.bootstrap-servers");
    String topic = ConfigCheck.nonEmptyString(config, p + "topic");
    if (!TOPIC.matcher(topic).matches()) {
      throw new TidemarkException("invalid config key " + p + "topic = \"" + topic + "\": expected a Kafka topic name (1 to 249"
          + " letters, digits, '.', '_' or '-')");
    }
    int replication = config.getInt(p + "replication-factor");
    if (replication == 0 || replication < -1 || replication > Short.MAX_VALUE) {
      throw new TidemarkException("invalid config key " + p + "replication-factor = " + replication
          + ": expected a positive number of replicas, or -1 for the broker's default");
    }
    String prefix = config.getString(p + "transactional-id-prefix");
    return new KafkaCheckpointSettings(
        servers, topic,
        ConfigCheck.flag(config, p + "create-topic"),
        ConfigCheck.positiveInt(config, p + "partitions"),
        (short) replication,
        prefix,
        ConfigCheck.positiveDuration(config, p + "commit-interval"),
        ConfigCheck.positiveInt(config, p + "commit-events"),
        ConfigCheck.positiveDuration(config, p + "timeout"),
        ConfigCheck.positiveInt(config, p + "history-size"),
        ConfigCheck.positiveInt(config, p + "max-record-bytes"),
        ProducerSettings.create(config.getConfig("akka.kafka.producer"), new ByteArraySerializer(), new ByteArraySerializer())
            .withBootstrapServers(servers),
        ConsumerSettings.create(config.getConfig("akka.kafka.consumer"), new ByteArrayDeserializer(), new ByteArrayDeserializer())
            .withBootstrapServers(servers));
  }

  /** The {@code transactional.id} of a stream's producer: the same for every consumer of the stream, so a new one fences the old. */
  public String transactionalId(String stream) {
    return transactionalIdPrefix + stream;
  }

  public KafkaCheckpointSettings withBootstrapServers(String servers) {
    return new KafkaCheckpointSettings(servers, topic, createTopic, partitions, replicationFactor, transactionalIdPrefix, commitInterval,
        commitEvents, timeout, historySize, maxRecordBytes, producerSettings.withBootstrapServers(servers),
        consumerSettings.withBootstrapServers(servers));
  }

  public KafkaCheckpointSettings withTopic(String name) {
    return new KafkaCheckpointSettings(bootstrapServers, name, createTopic, partitions, replicationFactor, transactionalIdPrefix,
        commitInterval, commitEvents, timeout, historySize, maxRecordBytes, producerSettings, consumerSettings);
  }

  /** How long the open transaction may wait for more records before it commits, and how many events make it commit at once. */
  public KafkaCheckpointSettings withCommit(Duration interval, int events) {
    return new KafkaCheckpointSettings(bootstrapServers, topic, createTopic, partitions, replicationFactor, transactionalIdPrefix,
        interval, events, timeout, historySize, maxRecordBytes, producerSettings, consumerSettings);
  }

  public KafkaCheckpointSettings withTimeout(Duration value) {
    return new KafkaCheckpointSettings(bootstrapServers, topic, createTopic, partitions, replicationFactor, transactionalIdPrefix,
        commitInterval, commitEvents, value, historySize, maxRecordBytes, producerSettings, consumerSettings);
  }

  public KafkaCheckpointSettings withHistorySize(int size) {
    return new KafkaCheckpointSettings(bootstrapServers, topic, createTopic, partitions, replicationFactor, transactionalIdPrefix,
        commitInterval, commitEvents, timeout, size, maxRecordBytes, producerSettings, consumerSettings);
  }

  /** A property of the producer that writes the transactions (records and checkpoints), over {@code akka.kafka.producer.kafka-clients}. */
  public KafkaCheckpointSettings withProducerProperty(String key, String value) {
    return new KafkaCheckpointSettings(bootstrapServers, topic, createTopic, partitions, replicationFactor, transactionalIdPrefix,
        commitInterval, commitEvents, timeout, historySize, maxRecordBytes, producerSettings.withProperty(key, value), consumerSettings);
  }
}
