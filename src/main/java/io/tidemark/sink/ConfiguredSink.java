package io.tidemark.sink;

import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.util.Optional;

/**
 * A sink the service builds by name from a stream's configuration
 * ({@code tidemark.streams.<name>.sink { type = jdbc, ... }}): the last stages of the stream's
 * pipeline, what they promise, and what they need from the rest of the pipeline.
 *
 * <p>Built by a {@link SinkFactory}. The service calls {@link #attach} once per run of the
 * pipeline's definition, then {@link #close} when the stream stops for good.
 */
public interface ConfiguredSink extends AutoCloseable {
  /**
   * What the sink promises about each event, in the words docs/sinks.md uses:
   * {@code at-least-once}, {@code effectively-once} or {@code exactly-once}.
   */
  String guarantee();

  /** The stream's stages (the user's transforms and plugins before) followed by this sink's. */
  PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages);

  /**
   * A checkpoint store the sink's guarantee depends on (the Kafka sink's exactly-once keeps the
   * checkpoint in its transactions), used instead of the service's configured store; empty for
   * sinks that work with any store.
   */
  default Optional<CheckpointStore> checkpointStore() {
    return Optional.empty();
  }

  /**
   * Whether the sink's targets take the stream's route (a {@code {route}} in a template, such as the
   * kafka sink's {@code topic}): a stream with a route transform and a sink that takes none is refused
   * at start, since its routes would route nothing.
   */
  default boolean takesRoutes() {
    return false;
  }

  /** Releases what the sink holds (connections, files, producers). */
  @Override
  default void close() {}
}
