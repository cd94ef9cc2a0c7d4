package io.tidemark.cluster;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.ClusterSingleton;
import akka.cluster.typed.SingletonActor;
import io.tidemark.pipeline.PipelineBuilder;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One consumer per stream on the cluster: the pipeline runs inside a cluster singleton named after
 * the stream, restarted with backoff after a failure, drained and flushed on handover.
 */
public final class StreamSingleton {
  private StreamSingleton() {}

  public static ActorRef<StreamConsumer.Command> init(
      ActorSystem<?> system, PipelineBuilder<?> pipeline, Consumer<Throwable> onFatal) {
    NodeStreams.get(system).candidateFor(java.util.List.of(pipeline.stream()));
    return ClusterSingleton.get(system)
        .init(
            SingletonActor.of(
                    Behaviors.supervise(StreamConsumer.create(pipeline, onFatal))
                        .onFailure(
                            StreamConsumer.StreamFailedException.class,
                            SupervisorStrategy.restartWithBackoff(Duration.ofSeconds(1), Duration.ofSeconds(30), 0.2)
                                .withLoggingEnabled(false)),
                    "tidemark-stream-" + pipeline.stream())
                .withStopMessage(StreamConsumer.Stop.INSTANCE));
  }
}
