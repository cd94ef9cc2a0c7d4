package io.tidemark.service;

import io.tidemark.StreamMdc;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointReplica;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.sink.ConfiguredSink;
import io.tidemark.sink.NamespaceRoutes;
import io.tidemark.sink.SinkContext;
import io.tidemark.sink.Sinks;
import io.tidemark.source.ChangeEnvelope;
import java.lang.reflect.Constructor;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bson.BsonDocument;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The streams a service runs, checked before the node joins its cluster: their definitions
 * ({@link #check}: keys, values, sink types, stage classes), then their sinks ({@link #create}:
 * each sink's own settings). {@link #pipeline} builds a stream's pipeline each time its consumer
 * starts on this node.
 */
public final class ServiceStreams implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ServiceStreams.class);

  /** The definitions and stage classes of a configuration, without anything started. */
  public record Checked(List<StreamDefinition> definitions, Map<String, List<Constructor<?>>> stages, Sinks sinks) {
    public List<String> names() {
      return definitions.stream().map(StreamDefinition::name).toList();
    }
  }

  private final ActorSystem<?> system;
  private final Map<String, StreamDefinition> definitions = new LinkedHashMap<>();
  private final Map<String, ConfiguredSink> sinks = new LinkedHashMap<>();
  private final Map<String, List<Constructor<?>>> stages;

  private ServiceStreams(ActorSystem<?> system, Checked checked) {
    this.system = system;
    this.stages = checked.stages();
    checked.definitions().forEach(definition -> definitions.put(definition.name(), definition));
  }

  /** Reads and checks every stream of {@code config}; plugins (sink types, stages) come from {@code plugins}. */
  public static Checked check(Config config, ClassLoader plugins) {
    Sinks sinks = Sinks.load(plugins);
    List<StreamDefinition> definitions = StreamDefinition.all(config, sinks);
    Map<String, List<Constructor<?>>> stages = new LinkedHashMap<>();
    for (StreamDefinition definition : definitions) {
      List<Constructor<?>> constructors = new ArrayList<>();
      for (int i = 0; i < definition.stages().size(); i++) {
        constructors.add(stage("tidemark.streams." + definition.name() + ".stages[" + i + "]", definition.stages().get(i), plugins));
      }
      stages.put(definition.name(), List.copyOf(constructors));
    }
    return new Checked(definitions, Map.copyOf(stages), sinks);
  }

  /** Makes every stream's sink (which checks its settings); on a failure closes those made and throws it. */
  public static ServiceStreams create(ActorSystem<?> system, Checked checked) {
    ServiceStreams streams = new ServiceStreams(system, checked);
    try {
      for (StreamDefinition definition : checked.definitions()) {
        NamespaceRoutes routes = definition.transforms().routes();
        ConfiguredSink sink = checked.sinks().forType(definition.sinkType())
            .create(new SinkContext(definition.name(), definition.sink(), system, routes));
        streams.sinks.put(definition.name(), sink);
        if (!routes.isEmpty() && !sink.takesRoutes()) {
          throw new TidemarkException("invalid config key " + routes.key() + ": the route transform routes nothing: the stream's "
              + definition.sinkType() + " sink has no {route} in its targets (expected the kafka sink's topic, or the mongodb sink's"
              + " database or collection, such as topic = \"cdc.{route}\"; the jdbc sink writes one table, the file and http sinks one"
              + " destination per stream: declare a stream per destination, each with its source.include-namespaces)");
        }
        StreamMdc.info(log, definition.name(), "stream '{}': {} → {} sink ({}), format {}", definition.name(), definition.target(), definition.sinkType(),
            sink.guarantee(), definition.format().label());
      }
    } catch (RuntimeException e) {
      streams.close();
      throw e;
    }
    return streams;
  }

  public List<String> names() {
    return List.copyOf(definitions.keySet());
  }

  public StreamDefinition definition(String stream) {
    return definitions.get(stream);
  }

  /** The stream's sink, as its type's factory made it. */
  public ConfiguredSink sink(String stream) {
    return sinks.get(stream);
  }

  /**
   * The stream's pipeline, with a new attachment of its sink (a new fencing epoch where the sink has
   * one). Built from the URI, so that its heartbeats keep a quiet stream's checkpoint up with the oplog.
   */
  public PipelineBuilder<?> pipeline(String stream, String mongoUri, CheckpointStore checkpoints, CheckpointReplica replica) {
    StreamDefinition definition = definitions.get(stream);
    ConfiguredSink sink = sinks.get(stream);
    PipelineBuilder<ChangeEnvelope> pipeline = Pipeline.named(stream).mongoUri(mongoUri);
    pipeline = definition.database() == null ? pipeline.deployment()
        : definition.collection() == null ? pipeline.database(definition.database())
        : pipeline.collection(definition.database(), definition.collection());
    pipeline = pipeline.fullDocument(definition.fullDocument()).fullDocumentBeforeChange(definition.fullDocumentBeforeChange())
        .showExpandedEvents(definition.showExpandedEvents());
    List<BsonDocument> match = definition.pipeline();
    if (!match.isEmpty()) pipeline = pipeline.match(match.toArray(Bson[]::new));
    if (definition.startup() != null) pipeline = pipeline.startup(definition.startup());
    pipeline = pipeline.checkpoints(sink.checkpointStore().orElse(checkpoints));
    if (replica != null) pipeline = pipeline.replica(replica);
    if (!definition.include().isEmpty() || !definition.exclude().isEmpty()) {
      pipeline = pipeline.namespaces(definition::includes);
    }
    pipeline = definition.transforms().attach(pipeline);
    for (Constructor<?> constructor : stages.getOrDefault(stream, List.of())) {
      Object stage;
      try {
        stage = constructor.newInstance();
      } catch (ReflectiveOperationException e) {
        throw new TidemarkException("stream '" + stream + "': stage " + constructor.getDeclaringClass().getName() + " could not be made: "
            + Errors.summary(e.getCause() != null ? e.getCause() : e), e);
      }
      if (stage instanceof StreamStage flow) {
        pipeline = pipeline.via(flow.flow(stream, system));
      } else {
        // A per-event handler: the event goes on, unchanged, once its handling is done.
        EventHandler handler = (EventHandler) stage;
        pipeline = pipeline.mapAsync(event -> handler.handle(stream, event).thenApply(done -> event));
      }
    }
    return sink.attach(pipeline);
  }

  /** The public no-argument constructor of a stage class: a {@link StreamStage} or an {@link EventHandler}. */
  private static Constructor<?> stage(String key, String className, ClassLoader plugins) {
    Class<?> type;
    try {
      type = Class.forName(className, false, plugins);
    } catch (ClassNotFoundException | LinkageError e) {
      throw new TidemarkException("invalid config key " + key + " = \"" + className + "\": no such class on the class path or in --plugins DIR");
    }
    boolean stage = StreamStage.class.isAssignableFrom(type) || EventHandler.class.isAssignableFrom(type);
    if (!stage || Modifier.isAbstract(type.getModifiers())) {
      throw new TidemarkException("invalid config key " + key + " = \"" + className + "\": expected a class that implements "
          + StreamStage.class.getName() + " or " + EventHandler.class.getName());
    }
    try {
      return type.getConstructor();
    } catch (NoSuchMethodException e) {
      throw new TidemarkException("invalid config key " + key + " = \"" + className + "\": expected a public constructor without arguments");
    }
  }

  @Override
  public void close() {
    for (Map.Entry<String, ConfiguredSink> entry : sinks.entrySet()) {
      try {
        entry.getValue().close();
      } catch (RuntimeException e) {
        StreamMdc.warn(log, entry.getKey(), "stream '{}': its sink did not close cleanly: {}", entry.getKey(), Errors.summary(e));
      }
    }
  }
}
