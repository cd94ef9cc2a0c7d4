package io.tidemark.management;

import akka.actor.ActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.cluster.Cluster;
import akka.cluster.MemberStatus;
import io.tidemark.pipeline.RunningPipelines;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * Readiness for akka-management ({@code /ready}): true when this node is an Up member of the
 * cluster (it runs its streams or stands by healthily for them) and none of the streams it runs has
 * stopped on a failure.
 */
@akka.annotation.InternalApi
public final class StreamReadiness implements Supplier<CompletionStage<Boolean>> {
  private final ActorSystem system;

  public StreamReadiness(ActorSystem system) {
    this.system = system;
  }

  @Override
  public CompletionStage<Boolean> get() {
    boolean clustered = "cluster".equals(system.settings().config().getString("akka.actor.provider"));
    boolean member = !clustered || Cluster.get(system).selfMember().status() == MemberStatus.up();
    return CompletableFuture.completedFuture(member && RunningPipelines.get(Adapter.toTyped(system)).healthy());
  }
}
