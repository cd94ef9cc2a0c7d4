package io.tidemark.connection;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.mongodb.MongoTimeoutException;
import io.tidemark.Clusters;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The clients of a deployment are shared by its leases within an actor system, and closed when
 * the last lease is released or the system terminates. No server: a client that is open waits for
 * one (and times out), a closed one refuses at once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SharedMongoClientsTest {
  private static final Duration TIMEOUT = Duration.ofMillis(300);
  private final ActorTestKit testKit = ActorTestKit.create("SharedMongoClientsTest");
  private final String uri = "mongodb://127.0.0.1:" + Clusters.freePort() + "/";

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void theLeasesOfADeploymentShareItsClientsUntilTheLastIsReleased() {
    SharedMongoClients clients = SharedMongoClients.get(testKit.system());
    SharedMongoClients.Lease first = clients.lease(uri, TIMEOUT);
    SharedMongoClients.Lease second = clients.lease(uri, TIMEOUT);
    SharedMongoClients.Lease otherTimeout = clients.lease(uri, TIMEOUT.multipliedBy(2));

    assertThat(second.client()).isSameAs(first.client());
    assertThat(second.syncClient()).isSameAs(first.syncClient());
    assertThat(second.failures()).isSameAs(first.failures());
    assertThat(otherTimeout.client()).as("another connect timeout, other clients").isNotSameAs(first.client());
    assertThat(clients.openDeployments()).isEqualTo(2);

    first.close();
    first.close();
    assertThat(open(second)).as("released twice counts once: the second lease still holds the clients").isTrue();

    second.close();
    assertThat(open(second)).as("closed with the last lease").isFalse();
    assertThat(clients.openDeployments()).isEqualTo(1);
    SharedMongoClients.Lease again = clients.lease(uri, TIMEOUT);
    assertThat(again.client()).as("a new lease opens new clients").isNotSameAs(first.client());
    assertThat(open(again)).isTrue();

    again.close();
    otherTimeout.close();
    assertThat(clients.openDeployments()).isZero();
  }

  @Test
  void theClientsCloseWhenTheActorSystemTerminates() {
    ActorTestKit other = ActorTestKit.create("SharedMongoClientsTest-terminating");
    SharedMongoClients clients = SharedMongoClients.get(other.system());
    SharedMongoClients.Lease lease = clients.lease(uri, TIMEOUT);
    other.shutdownTestKit();

    assertThat(open(lease)).isFalse();
    assertThatThrownBy(() -> clients.lease(uri, TIMEOUT)).isInstanceOf(IllegalStateException.class).hasMessageContaining("terminated");
    lease.close();
  }

  @Test
  void aMalformedUriIsRefusedAndNothingIsLeftOpen() {
    SharedMongoClients clients = SharedMongoClients.get(testKit.system());
    assertThatThrownBy(() -> clients.lease("mongodb://app:s3cret@", TIMEOUT))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("malformed MongoDB URI")
        .hasMessageNotContaining("s3cret");
    assertThat(clients.openDeployments()).isZero();
  }

  /** Whether both clients are open: an open one waits for the server and times out, a closed one refuses at once. */
  private static boolean open(SharedMongoClients.Lease lease) {
    boolean sync = open(() -> lease.syncClient().listDatabaseNames().first());
    boolean reactive = open(() -> MongoConnector.first(lease.client().listDatabaseNames()).get(10, TimeUnit.SECONDS));
    assertThat(reactive).as("the reactive client open as the synchronous one").isEqualTo(sync);
    return sync;
  }

  private static boolean open(java.util.concurrent.Callable<?> read) {
    try {
      read.call();
      throw new AssertionError("a server answered at " + read);
    } catch (Exception e) {
      Throwable cause = Errors.unwrap(e);
      if (cause instanceof MongoTimeoutException) return true;
      if (cause instanceof IllegalStateException && String.valueOf(cause.getMessage()).contains("open")) return false;
      throw new AssertionError("neither a timeout nor a closed client: " + cause, cause);
    }
  }
}
