package io.tidemark.sink;

import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.KafkaCheckpointStore;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * {@code sink { type = kafka, bootstrap-servers, guarantee, topic, tombstones, headers, ... }}: the
 * {@link KafkaSink}, with the keys of {@code tidemark.sink.kafka} per stream. {@code exactly-once}
 * keeps the stream's checkpoint in the Kafka transactions ({@link KafkaCheckpointStore}); the formats
 * are {@code relaxed-json} (the change event), {@code document} and {@code debezium}.
 */
final class KafkaSinkFactory implements SinkFactory {
  @Override
  public String type() {
    return "kafka";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of(
        "bootstrap-servers", "guarantee", "topic", "tombstones", "headers", "parallelism", "debezium"));
    EventFormat format = block.format();
    OutputFormat value = switch (format) {
      case RELAXED_JSON -> OutputFormat.CHANGE_EVENT;
      case DOCUMENT -> OutputFormat.DOCUMENT;
      case DEBEZIUM -> OutputFormat.DEBEZIUM;
      case CANONICAL_JSON -> throw new TidemarkException("invalid config key " + block.key("format") + " = \"canonical-json\": the kafka sink"
          + " writes relaxed-json, document or debezium");
    };
    var sinkBlock = block.config().withoutPath("type").withoutPath("format")
        .withFallback(com.typesafe.config.ConfigFactory.parseMap(Map.of("format", value.label())));
    KafkaSinkSettings settings;
    try {
      settings = KafkaSinkSettings.create(sinkBlock.atPath("tidemark.sink.kafka").withFallback(context.system().settings().config()));
    } catch (TidemarkException e) {
      throw new TidemarkException(e.getMessage().replace("tidemark.sink.kafka.", block.key("")), e);
    }
    if (KafkaRecords.usesRoute(settings.topic) && context.routes().isEmpty()) {
      throw new TidemarkException("invalid config key " + block.key("topic") + " = \"" + settings.topic + "\": {route} is the route a route"
          + " transform gives, and the stream has none: expected { type = route, routes = [...] } in tidemark.streams." + context.stream()
          + ".transforms, or {db}, {collection}, {stream}");
    }
    return new Configured(context, settings);
  }

  private static final class Configured implements ConfiguredSink {
    private final SinkContext context;
    private final KafkaSinkSettings settings;
    private KafkaCheckpointStore checkpoints;
    private KafkaSink sink;

    Configured(SinkContext context, KafkaSinkSettings settings) {
      this.context = context;
      this.settings = settings;
    }

    @Override
    public String guarantee() {
      return settings.guarantee.label();
    }

    @Override
    public boolean takesRoutes() {
      return KafkaRecords.usesRoute(settings.topic);
    }

    @Override
    public synchronized Optional<CheckpointStore> checkpointStore() {
      if (settings.guarantee != DeliveryGuarantee.EXACTLY_ONCE) return Optional.empty();
      if (checkpoints == null) checkpoints = KafkaCheckpointStore.create(context.system());
      return Optional.of(checkpoints);
    }

    @Override
    public synchronized PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
      if (sink == null) {
        sink = KafkaSink.create(context.stream(), settings,
            settings.guarantee == DeliveryGuarantee.EXACTLY_ONCE ? (KafkaCheckpointStore) checkpointStore().orElseThrow() : null,
            context.routes());
      }
      return stages.via(sink.flow());
    }

    @Override
    public synchronized void close() {
      if (sink != null) sink.close().toCompletableFuture().join();
    }
  }
}
