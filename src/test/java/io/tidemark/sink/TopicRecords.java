package io.tidemark.sink;

import io.tidemark.Await;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.bson.BsonDocument;

/**
 * Follows a topic the Kafka sink writes (format change-event) from its beginning in a thread of its
 * own, as a downstream reader would: {@code read_committed} (what a transactional writer committed,
 * and every record of a non-transactional one) or {@code read_uncommitted} (aborted records too).
 */
final class TopicRecords implements AutoCloseable {
  /** One record as read: where it is, the event it stands for, and who wrote it. */
  record Seen(int partition, long offset, String key, String token, String operation, Integer version, long epoch, boolean tombstone) {}

  private final String topic;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final List<Seen> seen = java.util.Collections.synchronizedList(new ArrayList<>());
  private final java.util.Set<String> events = ConcurrentHashMap.newKeySet();
  private final Map<TopicPartition, Long> positions = new ConcurrentHashMap<>();
  private final Thread thread;
  private volatile boolean stopped;
  private volatile RuntimeException failure;

  private TopicRecords(String bootstrapServers, String topic, boolean committedOnly) {
    this.topic = topic;
    this.consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, committedOnly ? "read_committed" : "read_uncommitted",
        ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false",
        ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000"), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    List<TopicPartition> partitions = consumer.partitionsFor(topic, Duration.ofSeconds(30)).stream()
        .map(info -> new TopicPartition(topic, info.partition())).toList();
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    this.thread = new Thread(this::poll, "topic-records-" + topic);
    thread.setDaemon(true);
    thread.start();
  }

  static TopicRecords follow(String bootstrapServers, String topic, boolean committedOnly) {
    return new TopicRecords(bootstrapServers, topic, committedOnly);
  }

  private void poll() {
    try {
      while (!stopped) {
        for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(100))) {
          Seen one = parse(record);
          seen.add(one);
          if (!one.tombstone() && one.token() != null) events.add(one.token());
        }
        for (TopicPartition partition : consumer.assignment()) positions.put(partition, consumer.position(partition));
      }
    } catch (RuntimeException e) {
      if (!stopped) failure = e;
    }
  }

  private static Seen parse(ConsumerRecord<byte[], byte[]> record) {
    String key = new String(record.key(), StandardCharsets.UTF_8);
    String token = header(record, KafkaRecords.RESUME_TOKEN_HEADER);
    String epoch = header(record, KafkaRecords.EPOCH_HEADER);
    if (record.value() == null) {
      return new Seen(record.partition(), record.offset(), key, token, null, null, epoch == null ? 0 : Long.parseLong(epoch), true);
    }
    BsonDocument event = BsonDocument.parse(new String(record.value(), StandardCharsets.UTF_8));
    BsonDocument document = event.isDocument("fullDocument") ? event.getDocument("fullDocument") : null;
    Integer version = document != null && document.isNumber("version") ? document.getNumber("version").intValue() : null;
    return new Seen(record.partition(), record.offset(), key, token, event.getString("operationType").getValue(), version,
        epoch == null ? 0 : Long.parseLong(epoch), false);
  }

  private static String header(ConsumerRecord<byte[], byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : new String(header.value(), StandardCharsets.UTF_8);
  }

  /** Every record read so far, in each partition's order. */
  List<Seen> seen() {
    check();
    synchronized (seen) {
      return List.copyOf(seen);
    }
  }

  /** Distinct change events read so far, by resume token (tombstones and copied documents are not counted). */
  long distinctEvents() {
    check();
    return events.size();
  }

  /** Waits until every record the topic holds now (up to its last stable offset, for read_committed) has been read. */
  void awaitEnd(String bootstrapServers, Duration timeout) {
    Map<TopicPartition, Long> ends;
    try (KafkaConsumer<byte[], byte[]> probe = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed"), new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = probe.partitionsFor(topic, Duration.ofSeconds(30)).stream()
          .map(info -> new TopicPartition(topic, info.partition())).toList();
      ends = probe.endOffsets(partitions, Duration.ofSeconds(30));
    }
    Await.until(timeout, () -> {
      check();
      return ends.entrySet().stream().allMatch(end -> positions.getOrDefault(end.getKey(), 0L) >= end.getValue());
    }, () -> "the reader of " + topic + " reached " + ends + " (at " + positions + ")");
  }

  /** The records of each key, in their partition's order. */
  Map<String, List<Seen>> byKey() {
    return seen().stream().collect(Collectors.groupingBy(Seen::key, java.util.LinkedHashMap::new,
        Collectors.collectingAndThen(Collectors.toList(), list -> {
          List<Seen> sorted = new ArrayList<>(list);
          sorted.sort(java.util.Comparator.comparingLong(Seen::offset));
          return sorted;
        })));
  }

  private void check() {
    if (failure != null) throw new IllegalStateException("the reader of " + topic + " failed", failure);
  }

  @Override
  public void close() {
    stopped = true;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    consumer.close(Duration.ofSeconds(5));
  }
}
