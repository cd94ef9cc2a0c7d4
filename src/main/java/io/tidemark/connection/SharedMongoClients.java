package io.tidemark.connection;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import com.mongodb.reactivestreams.client.MongoClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The MongoDB clients of an actor system: one reactive client and one synchronous client per
 * deployment (a URI and a connect timeout), however many streams read from it, so that the
 * clients' monitor threads, connection pools and sockets do not grow with the number of streams.
 * A stream takes a {@link Lease}; the clients are opened by the first lease and closed when the
 * last one is released, or when the actor system terminates.
 *
 * <p>The reactive client carries one {@link CommandFailures} listener, which counts each failed
 * command for the stream that ran it ({@link CommandTags}).
 */
@akka.annotation.InternalApi
public final class SharedMongoClients implements Extension {

  /** A deployment as its streams name it; the URI may hold a password, so it is never shown. */
  private record Key(String uri, Duration connectTimeout) {
    @Override
    public String toString() {
      return MongoConnector.hosts(uri) + " (connect-timeout " + connectTimeout + ")";
    }
  }

  /** The threads of a deployment's reactive client for its sockets' I/O: decoding replies is most of their work. */
  private static final int IO_THREADS = Math.max(2, Runtime.getRuntime().availableProcessors());

  /** The clients of one deployment and how many leases hold them. */
  private static final class Clients {
    final MongoClient client;
    final com.mongodb.client.MongoClient syncClient;
    final CommandFailures failures;
    int leases;

    Clients(Key key) {
      failures = new CommandFailures();
      client = MongoConnector.connectShared(key.uri(), key.connectTimeout(), failures, IO_THREADS);
      try {
        syncClient = MongoConnector.connectSync(key.uri(), key.connectTimeout());
      } catch (RuntimeException e) {
        client.close();
        throw e;
      }
    }

    void close() {
      try {
        client.close();
      } finally {
        syncClient.close();
      }
    }
  }

  private final Map<Key, Clients> open = new HashMap<>();
  private boolean terminated;

  private SharedMongoClients(ActorSystem<?> system) {
    system.getWhenTerminated().whenComplete((done, error) -> closeAll());
  }

  public static SharedMongoClients get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /**
   * A lease on the deployment's clients, opening them if no stream holds them yet. A malformed URI
   * is refused with the message of {@link MongoConnector#parse(String)}.
   */
  public synchronized Lease lease(String uri, Duration connectTimeout) {
    if (terminated) throw new IllegalStateException("the actor system has terminated: its MongoDB clients are closed");
    Key key = new Key(uri, connectTimeout);
    Clients clients = open.get(key);
    if (clients == null) {
      clients = new Clients(key);
      open.put(key, clients);
    }
    clients.leases++;
    return new Lease(key, clients);
  }

  /** How many deployments have clients open now. */
  public synchronized int openDeployments() {
    return open.size();
  }

  private synchronized void release(Key key, Clients clients) {
    clients.leases--;
    if (clients.leases == 0 && open.get(key) == clients) {
      open.remove(key);
      clients.close();
    }
  }

  private synchronized void closeAll() {
    terminated = true;
    open.values().forEach(Clients::close);
    open.clear();
  }

  /** One holder's use of a deployment's clients; {@link #close()} releases it (once). */
  public final class Lease implements AutoCloseable {
    private final Key key;
    private final Clients clients;
    private final AtomicBoolean released = new AtomicBoolean();

    private Lease(Key key, Clients clients) {
      this.key = key;
      this.clients = clients;
    }

    /** The deployment's reactive client: do not close it, release the lease. */
    public MongoClient client() {
      return clients.client;
    }

    /** The deployment's synchronous client (cursor probes): do not close it, release the lease. */
    public com.mongodb.client.MongoClient syncClient() {
      return clients.syncClient;
    }

    /** The failed commands on the reactive client, by the stream that ran them. */
    public CommandFailures failures() {
      return clients.failures;
    }

    @Override
    public void close() {
      if (released.compareAndSet(false, true)) release(key, clients);
    }

    @Override
    public String toString() {
      return "lease on the MongoDB clients of " + key;
    }
  }

  static final class Id extends ExtensionId<SharedMongoClients> {
    static final Id INSTANCE = new Id();

    @Override
    public SharedMongoClients createExtension(ActorSystem<?> system) {
      return new SharedMongoClients(system);
    }
  }
}
