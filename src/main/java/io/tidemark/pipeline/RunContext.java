package io.tidemark.pipeline;

import akka.actor.typed.ActorSystem;
import akka.pattern.Patterns;
import io.tidemark.Errors;
import io.tidemark.source.ChangeEnvelope;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What per-event stages need once the pipeline runs: the actor system, the failing-stage policy,
 * the dead-letter store. Stages are composed before {@code run(system)}, so they hold this and it
 * is bound when the pipeline starts.
 */
final class RunContext {
  private static final Logger log = LoggerFactory.getLogger(RunContext.class);

  private volatile ActorSystem<?> system;
  private volatile FailureSettings failure;
  private volatile DeadLetterStore deadLetters;
  private volatile PipelineStats stats;

  void bind(ActorSystem<?> system, FailureSettings failure, DeadLetterStore deadLetters, PipelineStats stats) {
    this.system = system;
    this.failure = failure;
    this.deadLetters = deadLetters;
    this.stats = stats;
  }

  /**
   * Runs one event's work. Under {@code dead-letter}, a failing event is tried again with backoff,
   * then recorded and skipped (empty result); under the other policies its failure fails the stage.
   */
  <R> CompletionStage<Optional<R>> attempt(String stream, ChangeEnvelope envelope, Supplier<CompletionStage<R>> work) {
    if (failure == null || failure.policy != FailurePolicy.DEAD_LETTER) {
      return invoke(work).thenApply(Optional::ofNullable);
    }
    int attempts = failure.deadLetterAttempts;
    CompletionStage<R> tried = Patterns.retry(() -> invoke(work), attempts - 1, failure.deadLetterBackoff, system);
    return tried.<CompletionStage<Optional<R>>>handle((result, error) -> {
      if (error == null) return CompletableFuture.completedFuture(Optional.ofNullable(result));
      Throwable cause = Errors.unwrap(error);
      // A fenced consumer must stop, not record the event and go on.
      if (cause instanceof io.tidemark.checkpoint.FencedException) return CompletableFuture.<Optional<R>>failedFuture(cause);
      log.warn("stream '{}': event #{} ({} {}) failed {} times ({}); recording it as a dead letter and going on",
          stream, envelope.seqNr(), envelope.operationType(), envelope.documentKey(), attempts, Errors.summary(cause));
      return deadLetters.record(DeadLetter.of(stream, envelope, cause, attempts)).thenApply(recorded -> {
        stats.onDeadLetter();
        return Optional.<R>empty();
      });
    }).thenCompose(result -> result);
  }

  private static <R> CompletionStage<R> invoke(Supplier<CompletionStage<R>> work) {
    try {
      return work.get();
    } catch (RuntimeException e) {
      return CompletableFuture.failedFuture(e);
    }
  }
}
