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

/**
 * Many streams, one consumer each, spread over the cluster: an Akka sharded daemon process keeps one
 * {@link StreamConsumer} per stream alive on some node, and moves it when nodes come and go. Its
 * stop message drains the stream and saves the safe token, as for {@link StreamSingleton}. Call on
 * every node with the same pipelines, in the same order.
 */
public final class StreamShards {
  private StreamShards() {}

  public static void init(ActorSystem<?> system, String name, List<PipelineBuilder<?>> pipelines, Consumer<Throwable> onFatal) {
    if (new HashSet<>(pipelines.stream().map(PipelineBuilder::stream).toList()).size() != pipelines.size()) {
      throw new TidemarkException("stream names must be unique in '" + name + "': " + pipelines.stream().map(PipelineBuilder::stream).toList());
    }
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
