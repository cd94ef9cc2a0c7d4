package io.tidemark.sink;

import akka.Done;
import akka.NotUsed;
import akka.stream.javadsl.FlowWithContext;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.KafkaCheckpointStore;
import io.tidemark.checkpoint.KafkaStreamTransaction;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.LongAdder;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Writes a stream's change events to Kafka: a topic per namespace (or one topic), the documentKey
 * as the key, the value as the change event, the document, or a Debezium envelope
 * ({@link KafkaRecords}). An event is done only when its records are safe, so the window's
 * checkpoint never passes a record that could still be lost:
 * <ul>
 *   <li>{@link DeliveryGuarantee#AT_LEAST_ONCE}: an idempotent producer of the sink's own, sending
 *       in the order events come; done once the broker acknowledged every record of the event. A
 *       crash replays at most N + K events, which are written again.
 *   <li>{@link DeliveryGuarantee#EXACTLY_ONCE}: the records go into the Kafka transactions of the
 *       pipeline's {@link KafkaCheckpointStore}, which commit them together with the stream's
 *       checkpoint and the position of each key written; done once that transaction committed. A
 *       replayed event whose records committed is skipped, and a fenced consumer's records never
 *       become visible to {@code read_committed} readers.
 * </ul>
 * Use {@link #flow()} with {@code PipelineBuilder.via} (up to {@code parallelism} events on their
 * way per lane, sent in order, so one key's records keep the stream's order), or {@link #handler()}
 * with {@code PipelineBuilder.handle} (one event at a time per lane). Make one sink per stream.
 */
public final class KafkaSink {
  private final String stream;
  private final KafkaSinkSettings settings;
  private final KafkaRecords records;
  private final OrderedSender producer;
  private final KafkaCheckpointStore transactions;
  private final LongAdder written = new LongAdder();
  private final LongAdder skipped = new LongAdder();
  private final LongAdder withoutRecords = new LongAdder();

  private KafkaSink(String stream, KafkaSinkSettings settings, KafkaRecords records, OrderedSender producer, KafkaCheckpointStore transactions) {
    this.stream = stream;
    this.settings = settings;
    this.records = records;
    this.producer = producer;
    this.transactions = transactions;
  }

  /**
   * A sink for one stream with the guarantee its settings name. Exactly-once needs the pipeline's
   * checkpoint store, {@code checkpoints}, which must be on the same Kafka cluster; at-least-once
   * ignores it (it may be null) and works with any checkpoint store.
   */
  public static KafkaSink create(String stream, KafkaSinkSettings settings, KafkaCheckpointStore checkpoints) {
    return create(stream, settings, checkpoints, NamespaceRoutes.none());
  }

  /** A sink whose topic template may take each event's route ({@code {route}}) from the stream's route transform. */
  public static KafkaSink create(String stream, KafkaSinkSettings settings, KafkaCheckpointStore checkpoints, NamespaceRoutes routes) {
    Objects.requireNonNull(stream, "stream");
    KafkaRecords records = KafkaRecords.create(stream, settings, routes);
    if (settings.guarantee == DeliveryGuarantee.AT_LEAST_ONCE) {
      return new KafkaSink(stream, settings, records, new OrderedSender(stream, settings.producerSettings), null);
    }
    if (checkpoints == null) {
      throw new TidemarkException("stream '" + stream + "': the exactly-once Kafka sink commits the checkpoint in its Kafka"
          + " transactions: give it the KafkaCheckpointStore the pipeline keeps its checkpoints in");
    }
    if (!checkpoints.settings().bootstrapServers.equals(settings.bootstrapServers)) {
      throw new TidemarkException("stream '" + stream + "': the exactly-once Kafka sink writes records and checkpoints in one Kafka"
          + " transaction, so on one cluster, but tidemark.sink.kafka.bootstrap-servers = " + settings.bootstrapServers
          + " and tidemark.checkpoint.kafka.bootstrap-servers = " + checkpoints.settings().bootstrapServers);
    }
    return new KafkaSink(stream, settings, records, null, checkpoints);
  }

  /** The stage for {@code PipelineBuilder.via}: each event's records, up to {@code parallelism} events at a time per lane. */
  public FlowWithContext<ChangeEnvelope, EventContext, Done, EventContext, NotUsed> flow() {
    return FlowWithContext.<ChangeEnvelope, EventContext>create().mapAsync(settings.parallelism, this::write);
  }

  /** The handler for {@code PipelineBuilder.handle}: one event at a time per lane. */
  public EventHandler handler() {
    return (name, event) -> {
      if (!name.equals(stream)) {
        return CompletableFuture.failedFuture(new TidemarkException(
            "the Kafka sink of stream '" + stream + "' was given an event of stream '" + name + "': make one sink per stream"));
      }
      return write(event);
    };
  }

  /** Writes one event's records; completes when they are safe (acknowledged, or committed). */
  public CompletionStage<Done> write(ChangeEnvelope event) {
    if (transactions != null) return writeInTransaction(event);
    List<ProducerRecord<byte[], byte[]>> out;
    try {
      out = records.of(event, 0);
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (out.isEmpty()) {
      withoutRecords.increment();
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return producer.send(out).handle((ok, error) -> {
      if (error != null) throw failure(event, error);
      written.increment();
      return Done.getInstance();
    });
  }

  private CompletionStage<Done> writeInTransaction(ChangeEnvelope event) {
    KafkaStreamTransaction transaction;
    List<ProducerRecord<byte[], byte[]>> out;
    try {
      transaction = transactions.transaction(stream);
      out = records.of(event, transaction.epoch());
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
    if (out.isEmpty()) {
      withoutRecords.increment();
      return CompletableFuture.completedFuture(Done.getInstance());
    }
    return transaction.write(event, out).handle((wrote, error) -> {
      if (error != null) throw failure(event, error);
      if (wrote) written.increment();
      else skipped.increment();
      return Done.getInstance();
    });
  }

  /** A failure a person must act on (fenced, misconfigured) passes as it is: the pipeline stops. Anything else fails the event, which is replayed. */
  private RuntimeException failure(ChangeEnvelope event, Throwable error) {
    Throwable cause = Errors.unwrap(error);
    if (cause instanceof TidemarkException person) return person;
    return new SinkUnavailableException("stream '" + stream + "': the Kafka sink could not write event #" + event.seqNr() + " ("
        + event.operationType() + " " + event.documentKey() + "): " + Errors.summary(cause), cause);
  }

  /** Events whose records this sink wrote (acknowledged, or committed). */
  public long written() {
    return written.sum();
  }

  /** Replayed events whose records a committed transaction already held (exactly-once only). */
  public long skipped() {
    return skipped.sum();
  }

  /** Events with no records: not about one document, or (format document) an update without a full document. */
  public long withoutRecords() {
    return withoutRecords.sum();
  }

  /** Closes the at-least-once producer, sending what it holds first (the exactly-once one belongs to the checkpoint store's runs). */
  public CompletionStage<Done> close() {
    return producer == null ? CompletableFuture.completedFuture(Done.getInstance()) : producer.close(java.time.Duration.ofSeconds(30));
  }
}
