package io.tidemark.cluster;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.cluster.ClusterEvent;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Subscribe;
import akka.cluster.typed.Leave;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.bson.Document;

/**
 * Three nodes in one JVM on loopback ports, with the stream's consumer in a cluster singleton, the
 * token replica, checkpoints on one shared H2 database, an embedded MongoDB, and a writer: what the
 * failover tests and the failover benchmark share. Each delivery is recorded with its node and time.
 */
public final class FailoverHarness implements AutoCloseable {
  public static final String STREAM = "failover";
  public static final WindowSettings WINDOW = WindowSettings.of(100, 200, Duration.ofMillis(500));

  /** One delivery of an event: which event, on which node, when. */
  public record Delivery(String token, String node, long nanos) {}

  /** What one node saw of another: {@code kind} is unreachable, reachable, downed, exited or removed. */
  public record Observation(String observer, String kind, String member, long nanos) {}

  /** A consumer opening the stream's checkpoint record on a node: the pipeline starting there. */
  public record Start(String node, long nanos) {}

  /** A consumer on a node having taken a fencing epoch, and when. */
  public record Acquire(String node, long epoch, long nanos) {}

  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoClients.create(mongo.connectionString());
  private final MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
  private final Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
  private final List<Delivery> log = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<Observation> observations = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<Start> starts = java.util.Collections.synchronizedList(new ArrayList<>());
  private final List<Acquire> acquires = java.util.Collections.synchronizedList(new ArrayList<>());
  private final AtomicBoolean writing = new AtomicBoolean();
  private final AtomicLong written = new AtomicLong();
  private final List<ActorSystem<Void>> nodes;
  /** By identity: actor systems of one name compare equal. */
  private final Set<ActorSystem<Void>> gone = java.util.Collections.synchronizedSet(
      java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
  private CompletableFuture<Void> writer = CompletableFuture.completedFuture(null);

  /** The cluster timings of {@code conf/cluster.conf}. */
  public FailoverHarness() {
    this(ConfigFactory.empty());
  }

  /** The cluster timings of {@code conf/cluster.conf}, with {@code timings} over them (e.g. older settings to compare). */
  public FailoverHarness(Config timings) {
    this(timings, false);
  }

  /**
   * The same, with the stream's consumer in a cluster singleton or, {@code sharded}, in a sharded
   * daemon process ({@link StreamShards}, as {@code tidemark run} starts its streams).
   */
  public FailoverHarness(Config timings, boolean sharded) {
    Config extra = timings.withFallback(TestConfigs.h2Journal("failover_" + Long.toHexString(System.nanoTime())))
        .withFallback(ConfigFactory.parseString(String.join("\n",
            "tidemark.mongodb.uri = \"" + mongo.connectionString() + "\"",
            // terminate() kills a node without leaving: a crash. Leaving is asked for explicitly.
            "akka.coordinated-shutdown.run-by-actor-system-terminate = off")))
        // The product's cluster timings: downing, failure detection, gossip, handover.
        .withFallback(ConfigFactory.parseFile(new java.io.File("conf/cluster.conf")).getConfig("akka").atKey("akka")
            .withoutPath("akka.remote").withoutPath("akka.cluster.seed-nodes").withoutPath("akka.coordinated-shutdown"));
    nodes = Clusters.start("failover-it", 3, extra);
    for (ActorSystem<Void> node : nodes) {
      String address = node.address().toString();
      node.systemActorOf(observer(address), "failover-observer", akka.actor.typed.Props.empty());
      io.tidemark.checkpoint.CheckpointStore store = JdbcCheckpointStore.create(node);
      var pipeline = Pipeline.named(STREAM)
          .mongoUri(mongo.connectionString())
          .collection("shop", "orders")
          .checkpoints(stream -> {
            starts.add(new Start(address, System.nanoTime()));
            return store.open(stream).thenApply(record -> new ObservedRecord(record, address));
          })
          .replica(TokenReplica.create(node))
          .windowSettings(WINDOW)
          .mapAsync(event -> record(event, address));
      if (sharded) StreamShards.init(node, "failover", List.of(pipeline), error -> { });
      else StreamSingleton.init(node, pipeline, error -> { });
    }
  }

  /** Records what this node sees of the others' reachability and membership. */
  private akka.actor.typed.Behavior<ClusterEvent.ClusterDomainEvent> observer(String address) {
    return akka.actor.typed.javadsl.Behaviors.setup(context -> {
      Cluster.get(context.getSystem()).subscriptions()
          .tell(Subscribe.create(context.getSelf(), ClusterEvent.ClusterDomainEvent.class));
      return akka.actor.typed.javadsl.Behaviors.receiveMessage(event -> {
        long now = System.nanoTime();
        if (event instanceof ClusterEvent.UnreachableMember e) observe(address, "unreachable", e.member(), now);
        else if (event instanceof ClusterEvent.ReachableMember e) observe(address, "reachable", e.member(), now);
        else if (event instanceof ClusterEvent.MemberDowned e) observe(address, "downed", e.member(), now);
        else if (event instanceof ClusterEvent.MemberExited e) observe(address, "exited", e.member(), now);
        else if (event instanceof ClusterEvent.MemberRemoved e) observe(address, "removed", e.member(), now);
        return akka.actor.typed.javadsl.Behaviors.same();
      });
    });
  }

  private void observe(String observer, String kind, akka.cluster.Member member, long nanos) {
    observations.add(new Observation(observer, kind, member.address().toString(), nanos));
  }

  /** The epochs the consumers took, by node, in the order they took them. */
  public List<Acquire> acquires() {
    synchronized (acquires) {
      return List.copyOf(acquires);
    }
  }

  /**
   * The stream's durable checkpoint as stored now, read through a node that neither runs the stream
   * nor is gone (reading takes no epoch).
   */
  public Optional<io.tidemark.checkpoint.Checkpoint> storedCheckpoint() throws Exception {
    ActorSystem<Void> reader = nodes.stream()
        .filter(node -> !gone.contains(node) && hostNow().map(host -> host != node).orElse(true))
        .findFirst().orElseThrow(() -> new IllegalStateException("no node to read the checkpoint through"));
    io.tidemark.checkpoint.StreamCheckpoints record =
        JdbcCheckpointStore.create(reader).open(STREAM).toCompletableFuture().get(30, TimeUnit.SECONDS);
    try {
      return record.load().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      record.close().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** When a consumer on a node other than {@code excluded} first took an epoch after {@code nanos}. */
  public Optional<Long> firstAcquireAfter(long nanos, ActorSystem<?> excluded) {
    String skip = excluded.address().toString();
    return acquires().stream().filter(a -> a.nanos() > nanos && !a.node().equals(skip)).map(Acquire::nanos).findFirst();
  }

  /** What the nodes saw of each other so far, in the order they saw it. */
  public List<Observation> observations() {
    synchronized (observations) {
      return List.copyOf(observations);
    }
  }

  /** The first time a node other than {@code member} saw it become {@code kind} after {@code nanos}. */
  public Optional<Long> firstObserved(String kind, ActorSystem<?> member, long nanos) {
    String subject = member.address().toString();
    return observations().stream()
        .filter(o -> o.kind().equals(kind) && o.member().equals(subject) && !o.observer().equals(subject) && o.nanos() > nanos)
        .map(Observation::nanos)
        .findFirst();
  }

  /** The first start of the stream's consumer after {@code nanos} on a node other than {@code excluded}. */
  public Optional<Long> firstStartAfter(long nanos, ActorSystem<?> excluded) {
    String skip = excluded.address().toString();
    synchronized (starts) {
      return starts.stream().filter(s -> s.nanos() > nanos && !s.node().equals(skip)).map(Start::nanos).findFirst();
    }
  }

  private CompletableFuture<Done> record(ChangeEnvelope event, String node) {
    String token = event.resumeToken().getString("_data").getValue();
    deliveries.computeIfAbsent(token, k -> new AtomicInteger()).incrementAndGet();
    log.add(new Delivery(token, node, System.nanoTime()));
    return CompletableFuture.completedFuture(Done.getInstance());
  }

  /** Writes one order every {@code everyMillis} until {@link #stopWriting()}. */
  public void startWriting(long everyMillis) {
    writing.set(true);
    writer = CompletableFuture.runAsync(() -> {
      long id = written.get();
      while (writing.get()) {
        try {
          MongoConnector.first(orders.insertOne(new Document("_id", id++))).get(10, TimeUnit.SECONDS);
          written.incrementAndGet();
        } catch (Exception e) {
          throw new IllegalStateException(e);
        }
        LockSupport.parkNanos(Duration.ofMillis(everyMillis).toNanos());
      }
    });
  }

  public long stopWriting() throws Exception {
    writing.set(false);
    writer.get(30, TimeUnit.SECONDS);
    return written.get();
  }

  /** The node running the stream, once one does. */
  public ActorSystem<Void> host(Duration within) {
    java.util.concurrent.atomic.AtomicReference<ActorSystem<Void>> found = new java.util.concurrent.atomic.AtomicReference<>();
    Await.until(within, () -> {
      found.set(hostNow().orElse(null));
      return found.get() != null;
    }, () -> "a node running stream '" + STREAM + "'; " + describe());
    return found.get();
  }

  private String describe() {
    StringBuilder text = new StringBuilder();
    for (ActorSystem<Void> node : nodes) {
      text.append(node.address()).append(gone.contains(node) ? " (gone)" : "").append(": ");
      for (RunningPipelines.Entry entry : RunningPipelines.get(node).all()) {
        text.append(entry.control().stream()).append(entry.failed() ? " failed " + entry.failure() : " running")
            .append(" from ").append(entry.control().stats().startedFrom()).append("; ");
      }
    }
    return text.toString();
  }

  private Optional<ActorSystem<Void>> hostNow() {
    return nodes.stream()
        .filter(node -> !gone.contains(node))
        .filter(node -> RunningPipelines.get(node).all().stream()
            .anyMatch(entry -> entry.control().stream().equals(STREAM) && !entry.failed()
                && entry.control().stats().startedFrom() != null))
        .findFirst();
  }

  /** Kills a node: no leaving, no drain, no flush. Returns the time of the crash. */
  public long crash(ActorSystem<Void> node) throws Exception {
    gone.add(node);
    long at = System.nanoTime();
    node.terminate();
    node.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    return at;
  }

  /**
   * Has another node down {@code node} while it runs: a false downing, as a long pause or a
   * partition would cause. The downed node shuts itself down. Returns when the down was asked for.
   */
  public long down(ActorSystem<Void> node) {
    gone.add(node);
    ActorSystem<Void> other = nodes.stream().filter(n -> !gone.contains(n)).findFirst().orElseThrow();
    long at = System.nanoTime();
    Cluster.get(other).manager().tell(new akka.cluster.typed.Down(node.address()));
    return at;
  }

  /**
   * Stops a node from answering for {@code pause}, as a long GC pause or a starved process would:
   * every thread of its internal dispatcher, where its cluster daemons (the heartbeats among them)
   * run, is held until then. Returns at once.
   */
  public void stall(ActorSystem<Void> node, Duration pause) {
    long until = System.nanoTime() + pause.toNanos();
    java.util.concurrent.Executor executor =
        node.dispatchers().lookup(akka.actor.typed.DispatcherSelector.fromConfig("akka.actor.internal-dispatcher"));
    for (int i = 0; i < 64; i++) {
      executor.execute(() -> {
        for (long left = until - System.nanoTime(); left > 0; left = until - System.nanoTime()) LockSupport.parkNanos(left);
      });
    }
  }

  /** The nodes, in the order they were started (the first is the seed). */
  public List<ActorSystem<Void>> nodes() {
    return List.copyOf(nodes);
  }

  /** Makes a node leave the cluster gracefully; returns when it asked to leave. */
  public long leave(ActorSystem<Void> node) {
    gone.add(node);
    long at = System.nanoTime();
    Cluster.get(node).manager().tell(Leave.create(Cluster.get(node).selfMember().address()));
    return at;
  }

  public void awaitAllDelivered(long count, Duration within) {
    Await.until(within, () -> deliveries.size() >= count, () -> count + " events delivered; " + deliveries.size() + " so far");
  }

  /** Deliveries beyond the first, over all events. */
  public long duplicates() {
    return deliveries.values().stream().mapToInt(AtomicInteger::get).sum() - deliveries.size();
  }

  public int distinctDelivered() {
    return deliveries.size();
  }

  /** The first delivery after {@code nanos} on a node other than {@code excluded}. */
  public Optional<Delivery> firstDeliveryAfter(long nanos, ActorSystem<?> excluded) {
    String skip = excluded.address().toString();
    synchronized (log) {
      return log.stream().filter(d -> d.nanos() > nanos && !d.node().equals(skip)).findFirst();
    }
  }

  /** A node's checkpoint record, noting the epochs its consumer takes. */
  private final class ObservedRecord implements io.tidemark.checkpoint.StreamCheckpoints {
    private final io.tidemark.checkpoint.StreamCheckpoints record;
    private final String node;

    ObservedRecord(io.tidemark.checkpoint.StreamCheckpoints record, String node) {
      this.record = record;
      this.node = node;
    }

    @Override
    public String stream() {
      return record.stream();
    }

    @Override
    public java.util.concurrent.CompletionStage<io.tidemark.checkpoint.Acquired> acquire() {
      return record.acquire().thenApply(acquired -> {
        acquires.add(new Acquire(node, acquired.epoch(), System.nanoTime()));
        return acquired;
      });
    }

    @Override
    public java.util.concurrent.CompletionStage<Optional<io.tidemark.checkpoint.Checkpoint>> load() {
      return record.load();
    }

    @Override
    public java.util.concurrent.CompletionStage<List<io.tidemark.checkpoint.Checkpoint>> history() {
      return record.history();
    }

    @Override
    public java.util.concurrent.CompletionStage<Done> save(io.tidemark.checkpoint.Checkpoint checkpoint, long epoch) {
      return record.save(checkpoint, epoch);
    }

    @Override
    public java.util.concurrent.CompletionStage<Done> close() {
      return record.close();
    }
  }

  @Override
  public void close() {
    writing.set(false);
    List<ActorSystem<Void>> running = new ArrayList<>(nodes);
    running.removeIf(node -> node.whenTerminated().isCompleted());
    Clusters.stopAll(running);
    client.close();
    mongo.close();
  }
}
