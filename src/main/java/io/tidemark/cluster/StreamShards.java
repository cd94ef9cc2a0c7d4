package io.tidemark.cluster;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import io.tidemark.TidemarkException;
import io.tidemark.pipeline.PipelineBuilder;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Many streams, one consumer each, spread over the cluster: an Akka sharded daemon process keeps one
 * {@link StreamConsumer} per stream alive on some node, and moves it when nodes come and go. Its
 * stop message drains the stream and saves the safe token, as for {@link StreamSingleton}. Call on
 * every node with the same pipelines, in the same order.
 */
public final class StreamShards {
  private StreamShards() {}

  /**
   * The same, with each stream's pipeline built anew each time its consumer starts on a node
   * ({@code pipelineOf.apply(stream)}), for sinks that take a fencing epoch per consumer.
   */
  public static void init(
      ActorSystem<?> system, String name, List<String> streams, Function<String, PipelineBuilder<?>> pipelineOf, Consumer<Throwable> onFatal) {
    if (new HashSet<>(streams).size() != streams.size()) {
      throw new TidemarkException("stream names must be unique in '" + name + "': " + streams);
    }
    NodeStreams.get(system).candidateFor(streams);
    ShardedDaemonProcess.get(system).init(
        StreamConsumer.Command.class,
        "tidemark-streams-" + name,
        streams.size(),
        index -> Behaviors.supervise(Behaviors.<StreamConsumer.Command>setup(context -> StreamConsumer.create(pipelineOf.apply(streams.get(index)), onFatal)))
            .onFailure(
                StreamConsumer.StreamFailedException.class,
                SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2).withLoggingEnabled(false)),
        StreamConsumer.Stop.INSTANCE);
  }

  public static void init(ActorSystem<?> system, String name, List<PipelineBuilder<?>> pipelines, Consumer<Throwable> onFatal) {
    if (new HashSet<>(pipelines.stream().map(PipelineBuilder::stream).toList()).size() != pipelines.size()) {
      throw new TidemarkException("stream names must be unique in '" + name + "': " + pipelines.stream().map(PipelineBuilder::stream).toList());
    }
    NodeStreams.get(system).candidateFor(pipelines.stream().map(PipelineBuilder::stream).toList());
    ShardedDaemonProcess.get(system).init(
        StreamConsumer.Command.class,
        "tidemark-streams-" + name,
        pipelines.size(),
        index -> Behaviors.supervise(StreamConsumer.create(pipelines.get(index), onFatal))
            .onFailure(
                StreamConsumer.StreamFailedException.class,
                SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2).withLoggingEnabled(false)),
        StreamConsumer.Stop.INSTANCE);
  }
}
