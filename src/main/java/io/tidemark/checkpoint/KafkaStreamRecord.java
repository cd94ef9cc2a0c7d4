package io.tidemark.checkpoint;

import io.tidemark.StreamMdc;

import akka.Done;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One stream's checkpoint record in a {@link KafkaCheckpointStore}, open for one pipeline run, and
 * the run's Kafka transactions.
 *
 * <p>The run's transactional producer is used from one thread only, this record's: sends and
 * commits never overlap, so a commit holds exactly the records sent before it (kafka-clients'
 * producer directly, not Alpakka's {@code Transactional} stages: those commit consumer offsets of a
 * Kafka source on their own schedule, while here the position is a MongoDB resume token and the
 * per-key positions that must be written in the transaction that commits the records).
 *
 * <p>An event's write completes only when its transaction has committed, so "done" means "visible
 * to {@code read_committed} readers", and the window's checkpoint never passes a record that could
 * still be aborted. After an aborted transaction the record takes no more writes in this run (a
 * later event of a key must not commit after an earlier one was lost); saves still commit, so the
 * window can save its safe position before the run ends and the next one starts from it.
 */
final class KafkaStreamRecord implements StreamCheckpoints, KafkaStreamTransaction {
  private static final Logger log = LoggerFactory.getLogger(KafkaStreamRecord.class);

  private enum State { NEW, ACQUIRED, ABORTED, FENCED, FAILED, CLOSED }

  private static final java.util.concurrent.atomic.AtomicLong CLIENTS = new java.util.concurrent.atomic.AtomicLong();

  private final String stream;
  private final KafkaCheckpointStore store;
  private final KafkaCheckpointSettings settings;
  private final ScheduledExecutorService thread;
  private final AtomicReference<Exception> sendFailure = new AtomicReference<>();
  private volatile boolean closing;
  private volatile long epoch;

  // Touched on the record's thread only.
  private State state = State.NEW;
  private RuntimeException refusal;
  private Producer<byte[], byte[]> producer;
  private int partition;
  private KafkaCheckpointRecord committed;
  private Checkpoint pending;
  private final Map<String, KeyPosition> written = new HashMap<>();
  private boolean inTransaction;
  private int eventsInTransaction;
  private final List<CompletableFuture<Boolean>> writes = new ArrayList<>();
  private final List<CompletableFuture<Done>> saves = new ArrayList<>();
  private ScheduledFuture<?> commitTimer;

  KafkaStreamRecord(String stream, KafkaCheckpointStore store, KafkaCheckpointSettings settings) {
    this.stream = stream;
    this.store = store;
    this.settings = settings;
    this.thread = Executors.newSingleThreadScheduledExecutor(runnable -> {
      Thread t = new Thread(runnable, "tidemark-kafka-" + stream);
      t.setDaemon(true);
      return t;
    });
  }

  /** Drops a record that was never handed out. */
  void discard() {
    thread.shutdownNow();
  }

  @Override
  public String stream() {
    return stream;
  }

  @Override
  public long epoch() {
    return epoch;
  }

  // ---- StreamCheckpoints ----------------------------------------------------------------------------

  @Override
  public CompletionStage<Acquired> acquire() {
    return onThread(() -> {
      if (state == State.CLOSED) throw new IllegalStateException("stream '" + stream + "': the checkpoint record is closed");
      if (producer != null) {
        producer.close(Duration.ZERO);
        producer = null;
      }
      store.ensureTopic();
      String transactionalId = settings.transactionalId(stream);
      akka.kafka.ProducerSettings<byte[], byte[]> producerSettings = settings.producerSettings;
      if (!producerSettings.getProperties().containsKey(ProducerConfig.CLIENT_ID_CONFIG)) {
        // The default (producer-<transactional.id>) is the same for every run of the stream in this JVM.
        producerSettings = producerSettings.withProperty(ProducerConfig.CLIENT_ID_CONFIG,
            transactionalId + "-" + CLIENTS.incrementAndGet());
      }
      Producer<byte[], byte[]> created = producerSettings
          .withProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId)
          .withProperty(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true")
          .withProperty(ProducerConfig.ACKS_CONFIG, "all")
          .createKafkaProducer();
      try {
        // Fences every older producer of the stream: its open transaction is aborted, its next send or commit fails.
        created.initTransactions();
        partition = KafkaCheckpointReader.partitionOf(stream, created.partitionsFor(settings.topic).size());
        KafkaCheckpointRecord stored = store.reader().latest(stream);
        KafkaCheckpointRecord taken = stored.withEpoch(stored.epoch + 1);
        created.beginTransaction();
        created.send(checkpointRecord(taken.encode()));
        created.commitTransaction();
        producer = created;
        committed = taken;
        epoch = taken.epoch;
        state = State.ACQUIRED;
        StreamMdc.info(log, stream, "stream '{}': took epoch {} with the Kafka transactional.id '{}' (older producers of the stream are fenced);"
            + " stored checkpoint: {}; {} key positions past it", stream, epoch, transactionalId,
            taken.checkpoint == null ? "none" : taken.checkpoint.position().describe(), taken.positions.size());
        return new Acquired(epoch, Optional.ofNullable(taken.checkpoint), taken.corruption);
      } catch (ProducerFencedException fenced) {
        created.close(Duration.ZERO);
        state = State.FENCED;
        refusal = new FencedException("stream '" + stream + "': another consumer has taken the stream while this one was starting"
            + " (its producer initialised the transactional.id '" + transactionalId + "' after this one)");
        throw refusal;
      } catch (KafkaException | CheckpointStoreUnavailableException e) {
        created.close(Duration.ZERO);
        throw unavailable("take an epoch", e);
      }
    });
  }

  @Override
  public CompletionStage<Optional<Checkpoint>> load() {
    return CompletableFuture.supplyAsync(() -> {
      KafkaCheckpointRecord stored = store.reader().latest(stream);
      if (stored.corruption != null) throw stored.corruption;
      return Optional.ofNullable(stored.checkpoint);
    }, store.blocking());
  }

  @Override
  public CompletionStage<List<Checkpoint>> history() {
    return CompletableFuture.supplyAsync(() -> store.reader().latest(stream).history(), store.blocking());
  }

  @Override
  public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
    if (!checkpoint.stream().equals(stream)) {
      throw new IllegalArgumentException(
          "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
    }
    CompletableFuture<Done> saved = new CompletableFuture<>();
    run(() -> onSave(checkpoint, epoch, saved), saved);
    // The window retries a save that fails; one that waits on a broker that is down fails after the timeout (the commit goes on).
    CompletableFuture<Done> bounded = new CompletableFuture<>();
    saved.whenComplete((done, error) -> {
      if (error != null) bounded.completeExceptionally(error);
      else bounded.complete(done);
    });
    CompletableFuture.delayedExecutor(settings.timeout.toMillis(), TimeUnit.MILLISECONDS).execute(() -> bounded.completeExceptionally(
        new CheckpointStoreUnavailableException("stream '" + stream + "': the Kafka transaction holding the checkpoint did not commit"
            + " within " + settings.timeout.toMillis() + " ms", null)));
    return bounded;
  }

  @Override
  public CompletionStage<Done> close() {
    closing = true;
    store.released(stream, this);
    CompletableFuture<Done> closed = new CompletableFuture<>();
    try {
      thread.execute(() -> {
        cancelTimer();
        State was = state;
        state = State.CLOSED;
        RuntimeException gone = new IllegalStateException("stream '" + stream + "': the checkpoint record was closed");
        if (refusal == null) refusal = gone;
        failAll(gone);
        if (producer != null) {
          // A graceful close aborts a transaction still open (there is none after the run's last save).
          try {
            producer.close(was == State.ACQUIRED || was == State.ABORTED ? Duration.ofSeconds(5) : Duration.ZERO);
          } catch (RuntimeException ignored) {
            // closing anyway
          }
          producer = null;
        }
        closed.complete(Done.getInstance());
        thread.shutdown();
      });
    } catch (RejectedExecutionException alreadyClosed) {
      closed.complete(Done.getInstance());
    }
    return closed;
  }

  // ---- KafkaStreamTransaction ---------------------------------------------------------------------

  @Override
  public CompletionStage<Boolean> write(ChangeEnvelope event, List<ProducerRecord<byte[], byte[]>> records) {
    CompletableFuture<Boolean> written = new CompletableFuture<>();
    run(() -> onWrite(event, records, written), written);
    return written;
  }

  private void onWrite(ChangeEnvelope event, List<ProducerRecord<byte[], byte[]>> records, CompletableFuture<Boolean> done) {
    if (state != State.ACQUIRED) {
      done.completeExceptionally(state == State.NEW
          ? new IllegalStateException("stream '" + stream + "': a write before the consumer took its epoch")
          : refusal);
      return;
    }
    String key = KeyPosition.keyOf(event);
    KeyPosition at = KeyPosition.of(event);
    KeyPosition newest = written.containsKey(key) ? written.get(key) : committed.positions.get(key);
    if (newest != null && at.compareTo(newest) <= 0) {
      done.complete(false); // a replay: a committed transaction holds this event's records
      return;
    }
    writes.add(done);
    try {
      begin();
      for (ProducerRecord<byte[], byte[]> record : records) producer.send(record, this::onSent);
    } catch (KafkaException | IllegalStateException e) {
      failTransaction(e);
      return;
    }
    written.put(key, at);
    eventsInTransaction++;
    if (eventsInTransaction >= settings.commitEvents) commit();
    else scheduleCommit();
  }

  // ---- saves and commits ----------------------------------------------------------------------------

  private void onSave(Checkpoint checkpoint, long writer, CompletableFuture<Done> done) {
    if (state != State.ACQUIRED && state != State.ABORTED) {
      done.completeExceptionally(state == State.NEW
          ? new IllegalStateException("stream '" + stream + "': a save before the consumer took its epoch")
          : refusal);
      return;
    }
    if (writer != epoch) {
      done.completeExceptionally(new FencedException("stream '" + stream + "': checkpoint refused: epoch " + writer
          + (writer < epoch ? " is older than the stream's epoch " : " is not the epoch this consumer took, ") + epoch));
      return;
    }
    Checkpoint base = pending != null ? pending : committed.checkpoint;
    // A gap may move back: a fault policy chose where the stream goes on.
    if (base != null && checkpoint.isBefore(base) && checkpoint.kind() != CheckpointKind.GAP) {
      done.completeExceptionally(new FencedException("stream '" + stream + "': checkpoint refused: it would move the checkpoint"
          + " backwards (stored at " + base.clusterTime() + ", new at " + checkpoint.clusterTime() + ")"));
      return;
    }
    pending = checkpoint.withEpoch(writer);
    saves.add(done);
    // A save with no records waiting commits at once; otherwise it rides on the transaction of those records.
    if (eventsInTransaction == 0) commit();
    else scheduleCommit();
  }

  private void scheduleCommit() {
    if (commitTimer == null) {
      commitTimer = thread.schedule(this::commit, settings.commitInterval.toMillis(), TimeUnit.MILLISECONDS);
    }
  }

  private void cancelTimer() {
    if (commitTimer != null) {
      commitTimer.cancel(false);
      commitTimer = null;
    }
  }

  private void begin() {
    if (!inTransaction) {
      producer.beginTransaction();
      inTransaction = true;
    }
  }

  /**
   * Commits the open transaction with the stream's record: the checkpoint asked for (or the stored
   * one), and the positions of the keys written past it.
   */
  private void commit() {
    cancelTimer();
    if (state != State.ACQUIRED && state != State.ABORTED) {
      failAll(refusal);
      return;
    }
    if (writes.isEmpty() && saves.isEmpty() && !inTransaction) return;
    Checkpoint saving = pending;
    Checkpoint at = saving != null ? saving : committed.checkpoint;
    Map<String, KeyPosition> positions = new HashMap<>(committed.positions);
    positions.putAll(written);
    positions.values().removeIf(position -> position.passedBy(at));
    KafkaCheckpointRecord next = committed.next(saving, positions, settings.historySize);
    byte[] value = next.encode();
    if (value.length > settings.maxRecordBytes) {
      becomeFailed(new TidemarkException("stream '" + stream + "': the checkpoint record would hold " + positions.size()
          + " key positions past the checkpoint (" + value.length + " bytes), more than tidemark.checkpoint.kafka.max-record-bytes = "
          + settings.maxRecordBytes + ": save checkpoints more often (tidemark.pipeline.checkpoint.every-events) or keep fewer events"
          + " in flight (tidemark.pipeline.window-size)"));
      return;
    }
    long started = System.nanoTime();
    try {
      begin();
      producer.send(checkpointRecord(value), this::onSent);
      commitTransaction();
    } catch (KafkaException | IllegalStateException e) {
      failTransaction(e);
      return;
    }
    if (log.isDebugEnabled()) {
      StreamMdc.debug(log, stream, "stream '{}': committed {} events, {} saves, checkpoint record {} bytes ({} key positions) in {} ms", stream,
          eventsInTransaction, saves.size(), value.length, positions.size(), (System.nanoTime() - started) / 1_000_000);
    }
    committed = next;
    written.clear();
    if (pending == saving) pending = null;
    inTransaction = false;
    eventsInTransaction = 0;
    for (CompletableFuture<Boolean> write : writes) write.complete(true);
    for (CompletableFuture<Done> save : saves) save.complete(Done.getInstance());
    writes.clear();
    saves.clear();
  }

  /** Commits, trying again while the broker does not answer in time (the transaction stays open meanwhile). */
  private void commitTransaction() {
    for (int attempt = 1; ; attempt++) {
      try {
        producer.commitTransaction();
        return;
      } catch (TimeoutException slow) {
        if (closing) throw slow;
        StreamMdc.warn(log, stream, "stream '{}': the Kafka transaction did not commit in time (attempt {}): {}; trying again", stream, attempt,
            slow.getMessage());
      }
    }
  }

  /**
   * A send or the commit failed. Fenced: this consumer stops. Otherwise the transaction is aborted:
   * its events fail (the run ends and the next replays them from the checkpoint), and this run
   * writes nothing more.
   */
  private void failTransaction(Exception error) {
    Exception sent = sendFailure.getAndSet(null);
    Throwable cause = sent != null ? sent : error;
    if (isFenced(error) || isFenced(cause)) {
      becomeFenced(cause);
      return;
    }
    try {
      abortTransaction();
    } catch (ProducerFencedException fenced) {
      becomeFenced(fenced);
      return;
    } catch (KafkaException | IllegalStateException fatal) {
      becomeFailed(new TidemarkException("stream '" + stream + "': the Kafka producer of transactional.id '"
          + settings.transactionalId(stream) + "' failed and cannot go on (" + Errors.summary(fatal) + ", after "
          + Errors.summary(cause) + "); nothing of the failed transaction is visible: start the stream again", fatal));
      return;
    }
    written.clear();
    inTransaction = false;
    eventsInTransaction = 0;
    state = State.ABORTED;
    refusal = new CheckpointStoreUnavailableException("stream '" + stream + "': the Kafka transaction was aborted ("
        + Errors.summary(cause) + "): none of its records is visible; this run writes nothing more, and the next one starts from"
        + " the checkpoint", cause);
    log.warn("{}", refusal.getMessage());
    failAll(refusal);
  }

  private void abortTransaction() {
    if (!inTransaction) return;
    for (int attempt = 1; ; attempt++) {
      try {
        producer.abortTransaction();
        return;
      } catch (TimeoutException slow) {
        if (closing) throw slow;
        StreamMdc.warn(log, stream, "stream '{}': the Kafka transaction did not abort in time (attempt {}); trying again", stream, attempt);
      }
    }
  }

  private void becomeFenced(Throwable cause) {
    state = State.FENCED;
    long newest = newestEpoch();
    String who = newest > epoch
        ? "another consumer has taken the stream (epoch " + newest + " is newer than this consumer's " + epoch + ")"
        : "the broker fenced this consumer's producer without a newer consumer (a transaction open longer than"
            + " transaction.timeout.ms is aborted that way)";
    refusal = new FencedException("stream '" + stream + "': the Kafka sink's transaction was refused: " + who
        + "; transactional.id '" + settings.transactionalId(stream) + "' (" + Errors.summary(cause) + ")");
    log.warn("{}", refusal.getMessage());
    failAll(refusal);
    closeProducer();
  }

  private void becomeFailed(TidemarkException why) {
    state = State.FAILED;
    refusal = why;
    log.error("{}", why.getMessage());
    failAll(why);
    closeProducer();
  }

  /** The newest epoch in the checkpoint topic, for the message of a fenced consumer (0 when it cannot be read). */
  private long newestEpoch() {
    try {
      return store.reader().latest(stream).epoch;
    } catch (RuntimeException unreadable) {
      return 0;
    }
  }

  private void closeProducer() {
    if (producer != null) {
      try {
        producer.close(Duration.ZERO);
      } catch (RuntimeException ignored) {
        // already unusable
      }
      producer = null;
    }
    inTransaction = false;
    written.clear();
  }

  private void failAll(RuntimeException why) {
    for (CompletableFuture<Boolean> write : writes) write.completeExceptionally(why);
    for (CompletableFuture<Done> save : saves) save.completeExceptionally(why);
    writes.clear();
    saves.clear();
    cancelTimer();
  }

  private void onSent(RecordMetadata metadata, Exception error) {
    if (error != null) sendFailure.compareAndSet(null, error);
  }

  private ProducerRecord<byte[], byte[]> checkpointRecord(byte[] value) {
    return new ProducerRecord<>(settings.topic, partition, stream.getBytes(StandardCharsets.UTF_8), value);
  }

  private static boolean isFenced(Throwable error) {
    for (Throwable e = error; e != null; e = e.getCause()) {
      if (e instanceof ProducerFencedException) return true;
    }
    return false;
  }

  private CheckpointStoreUnavailableException unavailable(String what, Exception cause) {
    if (cause instanceof CheckpointStoreUnavailableException unavailable) return unavailable;
    return new CheckpointStoreUnavailableException("stream '" + stream + "': could not " + what + " in the checkpoint topic '"
        + settings.topic + "': " + Errors.summary(cause), cause);
  }

  // ---- the record's thread --------------------------------------------------------------------------

  private <T> CompletionStage<T> onThread(Supplier<T> work) {
    CompletableFuture<T> result = new CompletableFuture<>();
    run(() -> result.complete(work.get()), result);
    return result;
  }

  /** Runs on the record's thread; whatever it throws fails {@code result}. */
  private void run(Runnable work, CompletableFuture<?> result) {
    try {
      thread.execute(() -> {
        try {
          work.run();
        } catch (RuntimeException e) {
          result.completeExceptionally(e);
        }
      });
    } catch (RejectedExecutionException closed) {
      result.completeExceptionally(refusal != null ? refusal
          : new IllegalStateException("stream '" + stream + "': the checkpoint record was closed"));
    }
  }
}
