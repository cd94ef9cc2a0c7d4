package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * One consumer per stream on a three-node cluster, under load: its node crashes (no leave, no
 * drain, no flush) or leaves gracefully, and the stream moves to another node and resumes. No
 * event is missing; a crash replays at most N + K, a graceful handover at most the window.
 */
class FailoverIT {

  @Test
  void aCrashOfTheConsumersNodeMovesTheStreamAndLosesNothing() throws Exception {
    try (FailoverHarness cluster = new FailoverHarness()) {
      ActorSystem<Void> host = cluster.host(Duration.ofSeconds(30));
      cluster.startWriting(5);
      cluster.awaitAllDelivered(300, Duration.ofSeconds(30));

      long crashed = cluster.crash(host);
      ActorSystem<Void> successor = cluster.host(Duration.ofSeconds(60));
      assertThat(successor).isNotSameAs(host);
      cluster.awaitAllDelivered(cluster.distinctDelivered() + 100, Duration.ofSeconds(60));
      long written = cluster.stopWriting();
      cluster.awaitAllDelivered(written, Duration.ofSeconds(60));

      assertThat(cluster.distinctDelivered()).isEqualTo(written);
      assertThat(cluster.duplicates()).isLessThanOrEqualTo(FailoverHarness.WINDOW.replayBound());
      var first = cluster.firstDeliveryAfter(crashed, host).orElseThrow();
      System.out.printf("crash failover: first event on the new node after %d ms; %d duplicates of %d events%n",
          TimeUnit.NANOSECONDS.toMillis(first.nanos() - crashed), cluster.duplicates(), written);
    }
  }

  @Test
  void aGracefulHandoverReplaysNoMoreThanTheWindow() throws Exception {
    try (FailoverHarness cluster = new FailoverHarness()) {
      ActorSystem<Void> host = cluster.host(Duration.ofSeconds(30));
      cluster.startWriting(5);
      cluster.awaitAllDelivered(300, Duration.ofSeconds(30));

      long left = cluster.leave(host);
      host.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      ActorSystem<Void> successor = cluster.host(Duration.ofSeconds(60));
      assertThat(successor).isNotSameAs(host);
      cluster.awaitAllDelivered(cluster.distinctDelivered() + 100, Duration.ofSeconds(60));
      long written = cluster.stopWriting();
      cluster.awaitAllDelivered(written, Duration.ofSeconds(60));

      assertThat(cluster.distinctDelivered()).isEqualTo(written);
      assertThat(cluster.duplicates()).isLessThanOrEqualTo(FailoverHarness.WINDOW.size);
      var first = cluster.firstDeliveryAfter(left, host).orElseThrow();
      System.out.printf("graceful handover: first event on the new node after %d ms; %d duplicates of %d events%n",
          TimeUnit.NANOSECONDS.toMillis(first.nanos() - left), cluster.duplicates(), written);
    }
  }

  /**
   * A false downing: the node running the stream is downed while it still runs (a long pause, a
   * partition). The singleton starts on another node a moment after the removal (the short
   * down-removal-margin), perhaps before the old consumer has drained; fencing keeps the old one
   * from writing over its successor. Nothing is lost, the stored checkpoint is the successor's,
   * and the successor runs on.
   */
  @Test
  void aNodeDownedWhileItRunsTheStreamGivesWayToItsSuccessorAndLosesNothing() throws Exception {
    try (FailoverHarness cluster = new FailoverHarness()) {
      ActorSystem<Void> host = cluster.host(Duration.ofSeconds(30));
      cluster.startWriting(5);
      cluster.awaitAllDelivered(300, Duration.ofSeconds(30));

      long downed = cluster.down(host);
      ActorSystem<Void> successor = cluster.host(Duration.ofSeconds(60));
      assertThat(successor).isNotSameAs(host);
      host.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
      cluster.awaitAllDelivered(cluster.distinctDelivered() + 100, Duration.ofSeconds(60));
      long written = cluster.stopWriting();
      cluster.awaitAllDelivered(written, Duration.ofSeconds(60));

      assertThat(cluster.distinctDelivered()).isEqualTo(written);
      assertThat(cluster.duplicates()).isLessThanOrEqualTo(FailoverHarness.WINDOW.replayBound());
      String successorAddress = successor.address().toString();
      long successorEpoch = cluster.acquires().stream()
          .filter(acquire -> acquire.node().equals(successorAddress))
          .mapToLong(FailoverHarness.Acquire::epoch).max().orElseThrow();
      assertThat(cluster.acquires()).allMatch(acquire -> acquire.epoch() <= successorEpoch);
      assertThat(cluster.storedCheckpoint()).hasValueSatisfying(stored -> assertThat(stored.epoch()).isEqualTo(successorEpoch));
      assertThat(NodeStreams.get(successor).stoppedForGood()).isEmpty();
      var first = cluster.firstDeliveryAfter(downed, host).orElseThrow();
      System.out.printf("false downing: first event on the new node after %d ms; %d duplicates of %d events; epochs %s%n",
          TimeUnit.NANOSECONDS.toMillis(first.nanos() - downed), cluster.duplicates(), written, cluster.acquires());
    }
  }
}
