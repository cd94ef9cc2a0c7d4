package io.tidemark.checkpoint;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.utils.Utils;

/**
 * Reads a stream's newest committed record from the checkpoint topic ({@code read_committed}: a
 * transaction that was aborted, or is still open, is never read). The topic is compacted, but
 * between compactions it holds a record per transaction, so the reader goes backwards from the end
 * in growing steps and stops at the first step that holds one of the stream's records.
 */
final class KafkaCheckpointReader {
  private final KafkaCheckpointSettings settings;

  KafkaCheckpointReader(KafkaCheckpointSettings settings) {
    this.settings = settings;
  }

  /** The partition of the checkpoint topic that holds a stream's records. */
  static int partitionOf(String stream, int partitions) {
    return Utils.toPositive(Utils.murmur2(stream.getBytes(StandardCharsets.UTF_8))) % partitions;
  }

  /** The stream's newest committed record; {@link KafkaCheckpointRecord#none} when it has none. Blocking. */
  KafkaCheckpointRecord latest(String stream) {
    long deadline = System.nanoTime() + settings.timeout.toNanos();
    try (Consumer<byte[], byte[]> consumer = settings.consumerSettings
        .withProperty(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed")
        .withProperty(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false")
        .withProperty(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, "false")
        .withProperty(ConsumerConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, String.valueOf(settings.timeout.toMillis()))
        .createKafkaConsumer()) {
      List<PartitionInfo> partitions = consumer.partitionsFor(settings.topic, settings.timeout);
      if (partitions == null || partitions.isEmpty()) return KafkaCheckpointRecord.none(stream);
      TopicPartition partition = new TopicPartition(settings.topic, partitionOf(stream, partitions.size()));
      consumer.assign(List.of(partition));
      long begin = consumer.beginningOffsets(List.of(partition)).get(partition);
      long end = consumer.endOffsets(List.of(partition)).get(partition); // read_committed: the last stable offset
      byte[] key = stream.getBytes(StandardCharsets.UTF_8);
      long step = 64;
      for (long to = end; to > begin; step *= 4) {
        long from = Math.max(begin, to - step);
        consumer.seek(partition, from);
        ConsumerRecord<byte[], byte[]> newest = null;
        while (consumer.position(partition) < to) {
          if (System.nanoTime() > deadline) {
            throw new CheckpointStoreUnavailableException("could not read stream '" + stream + "' from the checkpoint topic '"
                + settings.topic + "' within " + settings.timeout.toMillis() + " ms", null);
          }
          for (ConsumerRecord<byte[], byte[]> record : consumer.poll(Duration.ofMillis(200))) {
            if (record.offset() < to && java.util.Arrays.equals(key, record.key())) newest = record;
          }
        }
        if (newest != null) {
          return KafkaCheckpointRecord.decode(stream, "the checkpoint topic '" + settings.topic + "' (offset " + newest.offset() + ")",
              newest.value());
        }
        to = from;
      }
      return KafkaCheckpointRecord.none(stream);
    } catch (KafkaException e) {
      throw new CheckpointStoreUnavailableException("could not read stream '" + stream + "' from the checkpoint topic '"
          + settings.topic + "': " + e.getClass().getSimpleName() + ": " + e.getMessage(), e);
    }
  }
}
