package io.tidemark.service;

import akka.Done;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;

/** A test stage of the per-event kind: counts the events it is handed (a user's handler, loaded by class name). */
public final class CountingHandler implements EventHandler {
  static final AtomicLong HANDLED = new AtomicLong();

  @Override
  public CompletionStage<Done> handle(String stream, ChangeEnvelope event) {
    HANDLED.incrementAndGet();
    return CompletableFuture.completedFuture(Done.getInstance());
  }
}
