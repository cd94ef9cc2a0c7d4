package io.tidemark.pipeline;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.window.StageFailedException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a pipeline graph, and runs it again after a user stage failed, as the failing-stage policy
 * says: under {@code retry} (and {@code dead-letter}, for failures outside per-event stages) after a
 * capped backoff, from the safe token the failed run saved, so the window replays at most the
 * events that were in flight. Other failures end the pipeline: the source has already retried
 * what is resumable.
 */
final class PipelineRunner {
  private static final Logger log = LoggerFactory.getLogger(PipelineRunner.class);

  private final String stream;
  private final Supplier<Pair<UniqueKillSwitch, CompletionStage<Done>>> runOnce;
  private final FailureSettings failure;
  private final ActorSystem<?> system;
  private final PipelineStats stats;
  private final CompletableFuture<Done> completion = new CompletableFuture<>();
  private UniqueKillSwitch current;
  private Cancellable pendingRestart;
  private boolean stopping;
  private int restarts;

  PipelineRunner(
      String stream, Supplier<Pair<UniqueKillSwitch, CompletionStage<Done>>> runOnce, FailureSettings failure,
      ActorSystem<?> system, PipelineStats stats) {
    this.stream = stream;
    this.runOnce = runOnce;
    this.failure = failure;
    this.system = system;
    this.stats = stats;
  }

  synchronized PipelineRunner start() {
    Pair<UniqueKillSwitch, CompletionStage<Done>> run = runOnce.get();
    current = run.first();
    run.second().whenComplete(this::onRunEnded);
    return this;
  }

  CompletionStage<Done> completion() {
    return completion;
  }

  synchronized CompletionStage<Done> drainAndStop() {
    stopping = true;
    if (pendingRestart != null && pendingRestart.cancel()) {
      StreamMdc.info(log, stream, "stream '{}': stopped while waiting to restart", stream);
      completion.complete(Done.getInstance());
    } else if (current != null) {
      current.shutdown();
    }
    return completion;
  }

  private synchronized void onRunEnded(Done done, Throwable error) {
    current = null;
    if (error == null) {
      completion.complete(Done.getInstance());
      return;
    }
    Throwable cause = Errors.unwrap(error);
    if (stopping || !(cause instanceof StageFailedException) || failure.policy == FailurePolicy.STOP) {
      completion.completeExceptionally(cause);
      return;
    }
    if (Errors.unwrap(cause.getCause()) instanceof TidemarkException needsAPerson) {
      // A sink refused this consumer's writes (another consumer has taken the stream), or a stage broke
      // the rule the window depends on: a restart cannot fix either. Never retry.
      completion.completeExceptionally(needsAPerson);
      return;
    }
    restarts++;
    stats.onRestart();
    if (failure.maxRestarts > 0 && restarts > failure.maxRestarts) {
      completion.completeExceptionally(new TidemarkException(
          "stream '" + stream + "': stopped after " + failure.maxRestarts
              + " restarts (tidemark.pipeline.on-failure.max-restarts); last failure: " + Errors.oneLine(cause.getMessage()), cause));
      return;
    }
    Duration backoff = failure.restartBackoff(restarts);
    StreamMdc.warn(log, stream, "stream '{}': {}; restarting from the safe token in {} ms (restart {})",
        stream, Errors.oneLine(cause.getMessage()), backoff.toMillis(), restarts);
    pendingRestart = system.scheduler().scheduleOnce(backoff, this::restart, system.executionContext());
  }

  private synchronized void restart() {
    pendingRestart = null;
    if (stopping) {
      completion.complete(Done.getInstance());
      return;
    }
    try {
      start();
    } catch (RuntimeException e) {
      completion.completeExceptionally(e);
    }
  }
}
