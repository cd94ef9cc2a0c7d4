package io.tidemark.cluster;

import akka.actor.Address;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.Props;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Adapter;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.ClusterEvent;
import akka.cluster.sharding.typed.ShardingEnvelope;
import akka.cluster.sharding.typed.javadsl.ShardedDaemonProcess;
import akka.cluster.sharding.typed.javadsl.StartEntity;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import io.tidemark.ConfigCheck;
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
    wakeOnMembershipChanges(system, "tidemark-streams-" + name, streams.size());
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
    wakeOnMembershipChanges(system, "tidemark-streams-" + name, pipelines.size());
  }

  /**
   * The daemon process starts a consumer whose shard moved only when a message reaches it: its
   * keep-alive ping, every {@code akka.cluster.sharded-daemon-process.keep-alive-interval}, from a
   * singleton on the oldest node. When another member leaves, exits, is downed or removed, this
   * node asks for every stream at once and a few times over the next two seconds (a shard still
   * being handed off or deallocated is buffered by the region until its new home is known), so a
   * moved stream starts as soon as its shard has a home instead of at the next ping. Starting a
   * consumer that already runs does nothing. Off with {@code tidemark.cluster.wake-moved-streams = off}.
   */
  private static void wakeOnMembershipChanges(ActorSystem<?> system, String process, int count) {
    if (!ConfigCheck.flag(system.settings().config(), "tidemark.cluster.wake-moved-streams")) return;
    ActorRef<ShardingEnvelope<StreamConsumer.Command>> region = Adapter.toTyped(
        akka.cluster.sharding.ClusterSharding.get(Adapter.toClassic(system)).shardRegion("sharded-daemon-process-" + process));
    Behavior<Object> waker = Behaviors.setup(context -> {
      Cluster.get(system).subscriptions().tell(Subscribe.create(context.getSelf().narrow(), ClusterEvent.MemberEvent.class));
      Address self = Cluster.get(system).selfMember().address();
      return Behaviors.withTimers(timers -> Behaviors.receive(Object.class)
          .onMessage(ClusterEvent.MemberEvent.class, event -> {
            boolean gone = event instanceof ClusterEvent.MemberLeft || event instanceof ClusterEvent.MemberExited
                || event instanceof ClusterEvent.MemberDowned || event instanceof ClusterEvent.MemberRemoved;
            if (gone && !event.member().address().equals(self)) {
              wake(region, count);
              for (Duration after : WAKE_AGAIN) timers.startSingleTimer(after, new Wake(), after);
            }
            return Behaviors.same();
          })
          .onMessage(Wake.class, wake -> {
            wake(region, count);
            return Behaviors.same();
          })
          .build());
    });
    system.systemActorOf(waker, "tidemark-wake-" + process, Props.empty());
  }

  /** After the first ask, again at these delays: a coordinator that moved, or a removal after a downing, may take a moment. */
  private static final List<Duration> WAKE_AGAIN = List.of(Duration.ofMillis(250), Duration.ofMillis(750), Duration.ofSeconds(2));

  private record Wake() {}

  private static void wake(ActorRef<ShardingEnvelope<StreamConsumer.Command>> region, int count) {
    for (int i = 0; i < count; i++) region.tell(StartEntity.create(StreamConsumer.Command.class, Integer.toString(i)));
  }
}
