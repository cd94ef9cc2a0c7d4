package io.tidemark.bench;

import akka.Done;
import io.tidemark.checkpoint.Acquired;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Wraps a checkpoint store and observes every save that reaches it: how many were acknowledged
 * (durable), and how long each took from the call to the acknowledgement. {@link #freeze()} stands
 * for a killed process: from then on no save reaches the store, and none completes.
 */
final class CountingCheckpointStore implements CheckpointStore {
  private final CheckpointStore store;
  private final AtomicLong saves = new AtomicLong();
  private final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
  private volatile boolean frozen;

  CountingCheckpointStore(CheckpointStore store) {
    this.store = store;
  }

  /** From now on saves neither reach the store nor complete, as in a process that was killed. */
  void freeze() {
    frozen = true;
  }

  /** Saves acknowledged so far. */
  long saves() {
    return saves.get();
  }

  /** The time of each acknowledged save so far, in nanoseconds, in the order they completed. */
  List<Long> latencies() {
    return new ArrayList<>(latencies);
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    return store.open(stream).thenApply(Observed::new);
  }

  private final class Observed implements StreamCheckpoints {
    private final StreamCheckpoints record;

    Observed(StreamCheckpoints record) {
      this.record = record;
    }

    @Override
    public String stream() {
      return record.stream();
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      return record.acquire();
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      return record.load();
    }

    @Override
    public CompletionStage<List<Checkpoint>> history() {
      return record.history();
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (frozen) return new java.util.concurrent.CompletableFuture<>();
      long start = System.nanoTime();
      return record.save(checkpoint, epoch).whenComplete((done, error) -> {
        if (error == null) {
          latencies.add(System.nanoTime() - start);
          saves.incrementAndGet();
        }
      });
    }

    @Override
    public CompletionStage<Done> close() {
      return record.close();
    }
  }
}
