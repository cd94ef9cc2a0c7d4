package io.tidemark.sink;

import akka.actor.typed.ActorSystem;
import akka.kafka.ProducerSettings;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Settings of the Kafka sink, from {@code tidemark.sink.kafka}; the producer's own properties come
 * from Alpakka Kafka's {@code akka.kafka.producer.kafka-clients}. {@link #create(Config)} reads a
 * whole configuration, so a stream with a block of its own can be read with
 * {@code streamBlock.atPath("tidemark.sink.kafka").withFallback(config)}.
 */
public final class KafkaSinkSettings {
  private static final String P = "tidemark.sink.kafka.";

  public final String bootstrapServers;
  public final DeliveryGuarantee guarantee;
  /** The topic template: {@code {db}}, {@code {collection}} and {@code {stream}} are replaced; without any, one fixed topic. */
  public final String topic;
  public final OutputFormat format;
  public final boolean tombstones;
  public final boolean headers;
  /** Events whose records are on their way at once, per lane, in {@link KafkaSink#flow()}. */
  public final int parallelism;
  /** {@code source.name} of the Debezium envelope; empty: the stream's name. */
  public final String debeziumName;
  /** {@code source.rs} of the Debezium envelope; empty: null. */
  public final String debeziumReplicaSet;
  /** The at-least-once producer's settings (the exactly-once producer is the checkpoint store's). */
  public final ProducerSettings<byte[], byte[]> producerSettings;

  private KafkaSinkSettings(
      String bootstrapServers, DeliveryGuarantee guarantee, String topic, OutputFormat format, boolean tombstones, boolean headers,
      int parallelism, String debeziumName, String debeziumReplicaSet, ProducerSettings<byte[], byte[]> producerSettings) {
    this.bootstrapServers = bootstrapServers;
    this.guarantee = guarantee;
    this.topic = topic;
    this.format = format;
    this.tombstones = tombstones;
    this.headers = headers;
    this.parallelism = parallelism;
    this.debeziumName = debeziumName;
    this.debeziumReplicaSet = debeziumReplicaSet;
    this.producerSettings = producerSettings;
  }

  public static KafkaSinkSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static KafkaSinkSettings create(Config config) {
    String servers = ConfigCheck.nonEmptyString(config, P + "bootstrap-servers");
    return new KafkaSinkSettings(
        servers,
        ConfigCheck.oneOf(config, P + "guarantee", DeliveryGuarantee.class, "at-least-once or exactly-once"),
        KafkaRecords.checkTemplate(P + "topic", ConfigCheck.nonEmptyString(config, P + "topic")),
        ConfigCheck.oneOf(config, P + "format", OutputFormat.class, "change-event, document or debezium"),
        ConfigCheck.flag(config, P + "tombstones"),
        ConfigCheck.flag(config, P + "headers"),
        ConfigCheck.positiveInt(config, P + "parallelism"),
        config.getString(P + "debezium.name"),
        config.getString(P + "debezium.replica-set"),
        ProducerSettings.create(config.getConfig("akka.kafka.producer"), new ByteArraySerializer(), new ByteArraySerializer())
            .withBootstrapServers(servers));
  }

  public KafkaSinkSettings withBootstrapServers(String servers) {
    return new KafkaSinkSettings(servers, guarantee, topic, format, tombstones, headers, parallelism, debeziumName, debeziumReplicaSet,
        producerSettings.withBootstrapServers(servers));
  }

  public KafkaSinkSettings withGuarantee(DeliveryGuarantee value) {
    return new KafkaSinkSettings(bootstrapServers, value, topic, format, tombstones, headers, parallelism, debeziumName,
        debeziumReplicaSet, producerSettings);
  }

  /** Topics from a template such as {@code "cdc.{db}.{collection}"}, or one fixed topic ({@code "orders"}). */
  public KafkaSinkSettings withTopic(String template) {
    return new KafkaSinkSettings(bootstrapServers, guarantee, KafkaRecords.checkTemplate("topic", template), format, tombstones, headers,
        parallelism, debeziumName, debeziumReplicaSet, producerSettings);
  }

  /** A topic per namespace: {@code prefix + "<db>.<collection>"}. */
  public KafkaSinkSettings withTopicPrefix(String prefix) {
    return withTopic(prefix + "{db}.{collection}");
  }

  public KafkaSinkSettings withFormat(OutputFormat value) {
    return new KafkaSinkSettings(bootstrapServers, guarantee, topic, value, tombstones, headers, parallelism, debeziumName,
        debeziumReplicaSet, producerSettings);
  }

  public KafkaSinkSettings withTombstones(boolean on) {
    return new KafkaSinkSettings(bootstrapServers, guarantee, topic, format, on, headers, parallelism, debeziumName, debeziumReplicaSet,
        producerSettings);
  }

  public KafkaSinkSettings withParallelism(int value) {
    if (value < 1) throw new IllegalArgumentException("parallelism must be at least 1, was " + value);
    return new KafkaSinkSettings(bootstrapServers, guarantee, topic, format, tombstones, headers, value, debeziumName,
        debeziumReplicaSet, producerSettings);
  }

  /** A property of the at-least-once producer, over {@code akka.kafka.producer.kafka-clients}. */
  public KafkaSinkSettings withProducerProperty(String key, String value) {
    return new KafkaSinkSettings(bootstrapServers, guarantee, topic, format, tombstones, headers, parallelism, debeziumName,
        debeziumReplicaSet, producerSettings.withProperty(key, value));
  }
}
