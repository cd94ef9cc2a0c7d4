package io.tidemark.checkpoint;

import io.tidemark.source.ChangeEnvelope;
import java.util.List;
import java.util.concurrent.CompletionStage;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The Kafka transactions of one stream's consumer, as a {@link KafkaCheckpointStore} runs them for
 * one pipeline run: what the exactly-once Kafka sink writes through. Every transaction that commits
 * records also commits the stream's checkpoint record, with the position of the newest committed
 * event of each key past the checkpoint, so a replay can tell which events are already in Kafka.
 */
public interface KafkaStreamTransaction {

  String stream();

  /** The fencing epoch this consumer took (0 before {@link StreamCheckpoints#acquire()}). */
  long epoch();

  /**
   * Sends one event's records in the consumer's open transaction, unless a committed transaction
   * already holds this event (it is a replay), and completes once the transaction that holds them
   * has committed: {@code true} when written now, {@code false} when skipped. Fails with
   * {@link CheckpointStoreUnavailableException} when the transaction was aborted (nothing of it is
   * visible; the run must start again from its checkpoint), and with {@link FencedException} when a
   * newer consumer has taken the stream. Events of one key must be written in stream order.
   */
  CompletionStage<Boolean> write(ChangeEnvelope event, List<ProducerRecord<byte[], byte[]>> records);
}
