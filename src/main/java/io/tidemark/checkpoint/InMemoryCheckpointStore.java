package io.tidemark.checkpoint;

import akka.Done;
import io.tidemark.TidemarkException;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/** Checkpoints in memory, for tests and for pipelines that may start over after a restart. */
public final class InMemoryCheckpointStore implements CheckpointStore {
  private final ConcurrentHashMap<String, Checkpoint> checkpoints = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Long> epochs = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, java.util.List<Checkpoint>> history = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, Boolean> openStreams = new ConcurrentHashMap<>();
  private final AtomicLong saves = new AtomicLong();

  public static InMemoryCheckpointStore create() {
    return new InMemoryCheckpointStore();
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    StreamNames.validate(stream);
    if (openStreams.putIfAbsent(stream, Boolean.TRUE) != null) {
      return CompletableFuture.failedFuture(
          new TidemarkException("stream '" + stream + "' is already open in this process: run one pipeline per stream"));
    }
    return CompletableFuture.completedFuture(
        new StreamCheckpoints() {
          @Override
          public String stream() {
            return stream;
          }

          @Override
          public CompletionStage<Acquired> acquire() {
            long epoch = epochs.merge(stream, 1L, Long::sum);
            return CompletableFuture.completedFuture(new Acquired(epoch, Optional.ofNullable(checkpoints.get(stream))));
          }

          @Override
          public CompletionStage<Optional<Checkpoint>> load() {
            return CompletableFuture.completedFuture(Optional.ofNullable(checkpoints.get(stream)));
          }

          @Override
          public CompletionStage<java.util.List<Checkpoint>> history() {
            return CompletableFuture.completedFuture(InMemoryCheckpointStore.this.history(stream));
          }

          @Override
          public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
            if (!checkpoint.stream().equals(stream)) {
              throw new IllegalArgumentException(
                  "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
            }
            synchronized (InMemoryCheckpointStore.this) {
              long current = epochs.getOrDefault(stream, 0L);
              Checkpoint stored = checkpoints.get(stream);
              if (epoch < current) {
                return CompletableFuture.failedFuture(new FencedException(
                    "stream '" + stream + "': checkpoint refused: epoch " + epoch + " is older than the stream's epoch " + current));
              }
              // A gap may move back: a fault policy chose where the stream goes on.
              if (stored != null && checkpoint.isBefore(stored) && checkpoint.kind() != CheckpointKind.GAP) {
                return CompletableFuture.failedFuture(new FencedException(
                    "stream '" + stream + "': checkpoint refused: it would move the checkpoint backwards"));
              }
              checkpoints.put(stream, checkpoint.withEpoch(epoch));
              history.computeIfAbsent(stream, k -> new java.util.concurrent.CopyOnWriteArrayList<>()).add(checkpoints.get(stream));
            }
            saves.incrementAndGet();
            return CompletableFuture.completedFuture(Done.getInstance());
          }

          @Override
          public CompletionStage<Done> close() {
            openStreams.remove(stream);
            return CompletableFuture.completedFuture(Done.getInstance());
          }
        });
  }

  public Optional<Checkpoint> get(String stream) {
    return Optional.ofNullable(checkpoints.get(stream));
  }

  /** Every checkpoint saved for the stream, oldest first. */
  public java.util.List<Checkpoint> history(String stream) {
    return java.util.List.copyOf(history.getOrDefault(stream, java.util.List.of()));
  }

  /** Durable writes so far, over all streams. */
  public long saves() {
    return saves.get();
  }
}
