package io.tidemark.pipeline;

import io.tidemark.checkpoint.StreamNames;
import io.tidemark.source.ChangeEnvelope;

/**
 * Entry point of the public API: {@code Pipeline.named("orders-view")} starts a
 * {@link PipelineBuilder}.
 *
 * <pre>{@code
 * PipelineControl control =
 *     Pipeline.named("orders-to-search")
 *         .mongoUri("mongodb://localhost:27017/?replicaSet=rs0")
 *         .collection("shop", "orders")
 *         .checkpoints(JdbcCheckpointStore.create(system))
 *         .via(FlowWithContext.<ChangeEnvelope, EventContext>create()
 *             .mapAsync(1, event -> searchIndex.write(event)))
 *         .run(system);
 * }</pre>
 */
public final class Pipeline {
  private Pipeline() {}

  /** A new pipeline for the stream with this name; the name keys its checkpoint. */
  public static PipelineBuilder<ChangeEnvelope> named(String stream) {
    return PipelineBuilder.start(StreamNames.validate(stream));
  }
}
