package io.tidemark.checkpoint;

import akka.Done;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Checkpoints in memory, for tests and for pipelines that may start over after a restart. Fenced
 * like the durable stores; the history keeps the newest {@code historySize} routine entries and as
 * many notable ones, as {@link StreamCheckpoints#history()} says.
 */
public final class InMemoryCheckpointStore implements CheckpointStore {
  /** The history size of {@link #create()}, as the durable stores' default. */
  public static final int DEFAULT_HISTORY_SIZE = 100;

  private final Records records;
  private final OpenStreams openStreams = new OpenStreams();

  /** What the stores of one process share: the streams' records. */
  private static final class Records {
    final int historySize;
    final Map<String, Checkpoint> checkpoints = new ConcurrentHashMap<>();
    final Map<String, Long> epochs = new ConcurrentHashMap<>();
    final Map<String, List<Checkpoint>> history = new ConcurrentHashMap<>();
    final AtomicLong saves = new AtomicLong();

    Records(int historySize) {
      this.historySize = historySize;
    }
  }

  private InMemoryCheckpointStore(Records records) {
    this.records = records;
  }

  public static InMemoryCheckpointStore create() {
    return create(DEFAULT_HISTORY_SIZE);
  }

  /** A store whose history keeps the newest {@code historySize} routine and as many notable entries per stream. */
  public static InMemoryCheckpointStore create(int historySize) {
    if (historySize < 1) throw new IllegalArgumentException("historySize must be at least 1, was " + historySize);
    return new InMemoryCheckpointStore(new Records(historySize));
  }

  /** A second store over the same records, as another process sees a shared store: for tests of fencing. */
  InMemoryCheckpointStore peer() {
    return new InMemoryCheckpointStore(records);
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    return openStreams.open(stream, Record::new);
  }

  private final class Record implements StreamCheckpoints {
    private final String stream;

    Record(String stream) {
      this.stream = stream;
    }

    @Override
    public String stream() {
      return stream;
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      synchronized (records) {
        long epoch = records.epochs.merge(stream, 1L, Long::sum);
        return CompletableFuture.completedFuture(new Acquired(epoch, Optional.ofNullable(records.checkpoints.get(stream))));
      }
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      return CompletableFuture.completedFuture(Optional.ofNullable(records.checkpoints.get(stream)));
    }

    @Override
    public CompletionStage<List<Checkpoint>> history() {
      return CompletableFuture.completedFuture(InMemoryCheckpointStore.this.history(stream));
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (!checkpoint.stream().equals(stream)) {
        throw new IllegalArgumentException(
            "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
      }
      synchronized (records) {
        long current = records.epochs.getOrDefault(stream, 0L);
        Checkpoint stored = records.checkpoints.get(stream);
        if (epoch < current) {
          return CompletableFuture.failedFuture(new FencedException("stream '" + stream + "': checkpoint refused: epoch " + epoch
              + " is older than the stream's epoch " + current + ": another consumer has taken the stream"));
        }
        // A gap may move back: a fault policy chose where the stream goes on.
        if (stored != null && checkpoint.isBefore(stored) && checkpoint.kind() != CheckpointKind.GAP) {
          return CompletableFuture.failedFuture(new FencedException(
              "stream '" + stream + "': checkpoint refused: it would move the checkpoint backwards"));
        }
        Checkpoint saved = checkpoint.withEpoch(epoch);
        records.checkpoints.put(stream, saved);
        List<Checkpoint> kept = records.history.computeIfAbsent(stream, k -> new ArrayList<>());
        kept.add(saved);
        prune(kept, true);
        prune(kept, false);
      }
      records.saves.incrementAndGet();
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    @Override
    public CompletionStage<Done> close() {
      openStreams.closed(stream);
      return CompletableFuture.completedFuture(Done.getInstance());
    }
  }

  /** Keeps the newest {@code historySize} entries of one sort (routine or notable), dropping the oldest. */
  private void prune(List<Checkpoint> entries, boolean routine) {
    long count = entries.stream().filter(entry -> isRoutine(entry) == routine).count();
    for (var it = entries.iterator(); it.hasNext() && count > records.historySize; ) {
      if (isRoutine(it.next()) == routine) {
        it.remove();
        count--;
      }
    }
  }

  private static boolean isRoutine(Checkpoint checkpoint) {
    CheckpointKind kind = checkpoint.kind();
    return kind == CheckpointKind.EVENT || kind == CheckpointKind.HEARTBEAT || kind == CheckpointKind.SNAPSHOT;
  }

  public Optional<Checkpoint> get(String stream) {
    return Optional.ofNullable(records.checkpoints.get(stream));
  }

  /** The stream's history, oldest first: the newest routine entries and, kept apart, the newest notable ones. */
  public List<Checkpoint> history(String stream) {
    synchronized (records) {
      return List.copyOf(records.history.getOrDefault(stream, List.of()));
    }
  }

  /** Durable writes so far, over all streams. */
  public long saves() {
    return records.saves.get();
  }
}
