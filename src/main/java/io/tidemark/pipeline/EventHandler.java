package io.tidemark.pipeline;

import akka.Done;
import io.tidemark.source.ChangeEnvelope;
import java.util.concurrent.CompletionStage;

/**
 * Per-event work that a pipeline runs with {@link PipelineBuilder#handle(EventHandler)}: locally,
 * or in sharded entities across the cluster ({@code io.tidemark.cluster.ShardedWorkers}).
 */
@FunctionalInterface
public interface EventHandler {
  /** Completes when the event is done; fails when it could not be. */
  CompletionStage<Done> handle(String stream, ChangeEnvelope event);
}
