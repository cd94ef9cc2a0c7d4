package io.tidemark.pipeline;

import akka.Done;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;

/** Dead letters in memory, for tests. */
public final class InMemoryDeadLetterStore implements DeadLetterStore {
  private final List<DeadLetter> letters = new CopyOnWriteArrayList<>();

  public static InMemoryDeadLetterStore create() {
    return new InMemoryDeadLetterStore();
  }

  @Override
  public CompletionStage<Done> record(DeadLetter deadLetter) {
    letters.add(deadLetter);
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  @Override
  public CompletionStage<List<DeadLetter>> list(String stream, int limit) {
    return CompletableFuture.completedFuture(
        letters.stream().filter(letter -> letter.stream().equals(stream)).limit(limit).toList());
  }

  @Override
  public CompletionStage<Long> count(String stream) {
    return CompletableFuture.completedFuture(letters.stream().filter(letter -> letter.stream().equals(stream)).count());
  }
}
