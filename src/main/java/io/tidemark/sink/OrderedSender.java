package io.tidemark.sink;

import akka.Done;
import akka.kafka.ProducerSettings;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The at-least-once sink's idempotent producer, sending from one thread in the order it is asked
 * to, so one key's records (and a delete's tombstone after the delete) reach their partition in
 * the stream's order; {@code send} may block while the producer waits for metadata, and does so on
 * that thread, not on the stream's.
 *
 * <p>(kafka-clients' producer directly: Alpakka Kafka's {@code SendProducer} sends from a
 * {@code Future} callback on a thread pool, so two sends asked for in a row may reach the producer
 * in the other order, and its {@code Producer.flowWithContext} stage keeps the order but gives no
 * completion per event for {@code handler()}. Alpakka's {@code ProducerSettings} still configure it.)
 */
final class OrderedSender {
  private final Producer<byte[], byte[]> producer;
  private final ExecutorService thread;

  OrderedSender(String stream, ProducerSettings<byte[], byte[]> settings) {
    this.producer = settings
        .withProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true")
        .withProperty(ProducerConfig.ACKS_CONFIG, "all")
        .createKafkaProducer();
    this.thread = Executors.newSingleThreadExecutor(runnable -> {
      Thread t = new Thread(runnable, "tidemark-kafka-sink-" + stream);
      t.setDaemon(true);
      return t;
    });
  }

  /** Sends the records in order; completes when the broker acknowledged all of them, or fails with the first error. */
  CompletableFuture<Done> send(List<ProducerRecord<byte[], byte[]>> records) {
    CompletableFuture<Done> acknowledged = new CompletableFuture<>();
    AtomicInteger waiting = new AtomicInteger(records.size());
    try {
      thread.execute(() -> {
        try {
          for (ProducerRecord<byte[], byte[]> record : records) {
            producer.send(record, (metadata, error) -> {
              if (error != null) acknowledged.completeExceptionally(error);
              else if (waiting.decrementAndGet() == 0) acknowledged.complete(Done.getInstance());
            });
          }
        } catch (RuntimeException e) {
          acknowledged.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException closed) {
      acknowledged.completeExceptionally(new IllegalStateException("the Kafka sink was closed", closed));
    }
    return acknowledged;
  }

  /** Sends what is buffered (within the timeout) and closes the producer. */
  CompletableFuture<Done> close(Duration timeout) {
    CompletableFuture<Done> closed = new CompletableFuture<>();
    try {
      thread.execute(() -> {
        try {
          producer.close(timeout);
        } finally {
          closed.complete(Done.getInstance());
        }
      });
      thread.shutdown();
    } catch (RejectedExecutionException already) {
      closed.complete(Done.getInstance());
    }
    return closed;
  }
}
