package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import akka.pattern.StatusReply;
import io.tidemark.Await;
import io.tidemark.source.Envelopes;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A worker entity asked to stop while its handler runs (its shard moves, or it is passivated)
 * stops only when the handler is done: the event's resend on another node must not run the same
 * key at the same time.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShardedWorkerTest {
  private final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private AtomicBoolean watch(ActorRef<ShardedWorker.Command> worker) {
    AtomicBoolean terminated = new AtomicBoolean();
    testKit.spawn(Behaviors.<Void>setup(context -> {
      context.watch(worker);
      return Behaviors.receive(Void.class).onSignal(Terminated.class, signal -> {
        terminated.set(true);
        return Behaviors.stopped();
      }).build();
    }));
    return terminated;
  }

  @Test
  void aBusyWorkerStopsOnlyOnceItsHandlerIsDone() {
    CompletableFuture<Done> slow = new CompletableFuture<>();
    ActorRef<ShardedWorker.Command> worker = testKit.spawn(ShardedWorker.create(event -> slow));
    AtomicBoolean terminated = watch(worker);
    TestProbe<StatusReply<Done>> replies = testKit.createTestProbe();

    worker.tell(new ShardedWorker.Process("s", 1, Envelopes.insert(1, "k").eventDocument().toJson(), replies.ref()));
    worker.tell(ShardedWorker.Stop.INSTANCE);
    assertThat(Await.atMost(Duration.ofMillis(300), terminated::get)).as("stopped while its handler runs").isFalse();

    slow.complete(Done.getInstance());
    assertThat(replies.receiveMessage().isSuccess()).isTrue();
    Await.until(Duration.ofSeconds(5), terminated::get, () -> "the worker stopped after its handler");
  }

  @Test
  void anIdleWorkerStopsAtOnce() {
    ActorRef<ShardedWorker.Command> worker = testKit.spawn(ShardedWorker.create(event -> CompletableFuture.completedFuture(Done.getInstance())));
    AtomicBoolean terminated = watch(worker);
    worker.tell(ShardedWorker.Stop.INSTANCE);
    Await.until(Duration.ofSeconds(5), terminated::get, () -> "the idle worker stopped");
  }
}
