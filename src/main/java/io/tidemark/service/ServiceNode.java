package io.tidemark.service;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.checkpoint.RedisCheckpointStore;
import io.tidemark.cluster.StreamShards;
import io.tidemark.cluster.TokenReplica;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.management.TidemarkMetrics;
import io.tidemark.pipeline.FailureSettings;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.OplogSettings;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the configured service ({@code tidemark run}; {@code demo} and {@code node} run the
 * demo's stream configuration on it): every stream of {@code tidemark.streams} has one consumer in
 * the cluster, spread over the nodes by {@link StreamShards}, and moved with its checkpoint and
 * fencing when nodes come and go. The configuration, the sinks and the stage classes are checked
 * before the node joins the cluster, so a bad one stops it with a {@link TidemarkException} and the
 * cluster never sees it. It joins as {@link ClusterJoin} says: Akka Cluster Bootstrap, the seed
 * nodes, or, without any, a cluster of its own. Checkpoints go to the store
 * {@code tidemark.service.checkpoint-store} names; every stream prints its progress line
 * ({@link StreamProgress}). A stream that stops for good while running (a failure a person must
 * fix) stays stopped on this node and shows as failed; the node and its other streams run on,
 * unless {@link #stopOnStreamFailure()} (the demo) makes that failure stop the node.
 */
public final class ServiceNode {
  private static final Logger log = LoggerFactory.getLogger(ServiceNode.class);

  /** The node stops because its companion has done what was asked. */
  private static final CoordinatedShutdown.Reason FINISHED = new CoordinatedShutdown.Reason() {};
  /** The node stops on a failure a person must fix. */
  private static final CoordinatedShutdown.Reason FATAL = new CoordinatedShutdown.Reason() {};

  /** What runs beside the streams of a node, such as the demo's workload. */
  public interface Companion {
    /** Called once the node has placed its streams; it may stop the node through {@code node}. */
    void started(Running node);
  }

  private final Config config;
  private final ClassLoader plugins;
  private boolean stopOnStreamFailure;
  private AutoCloseable resource;
  private Companion companion = node -> {};
  private final AtomicReference<Throwable> fatal = new AtomicReference<>();

  public ServiceNode(Config config, ClassLoader plugins) {
    this.config = config;
    this.plugins = plugins;
  }

  /** A stream that stops for good stops the node, and {@link #run()} throws its failure (a one-stream node: the demo). */
  public ServiceNode stopOnStreamFailure() {
    this.stopOnStreamFailure = true;
    return this;
  }

  /** Closes {@code resource} (such as the embedded MongoDB) once the streams and their clients are closed, or when the start fails. */
  public ServiceNode closing(AutoCloseable resource) {
    this.resource = resource;
    return this;
  }

  public ServiceNode with(Companion companion) {
    this.companion = companion;
    return this;
  }

  /**
   * Reads every setting the node will read, before anything starts: the streams (keys, values, sink
   * types, stage classes), how it joins, the pipeline's settings and the node's own. A bad one fails
   * the start with its key named, instead of a node that serves its endpoints, answers ready, and has no stream.
   */
  public static ServiceStreams.Checked check(Config config, ClassLoader plugins) {
    ServiceStreams.Checked checked = ServiceStreams.check(config, plugins);
    ClusterJoin.check(config);
    WindowSettings.create(config);
    SourceSettings.create(config);
    FailureSettings.create(config);
    FaultSettings.create(config);
    SnapshotSettings.create(config);
    io.tidemark.source.IncrementalSnapshotSettings.create(config);
    OplogSettings.create(config);
    ConfigCheck.positiveInt(config, "tidemark.pipeline.parallelism");
    ServiceSettings.create(config);
    return checked;
  }

  /**
   * Runs until stopped; returns after a graceful stop. Throws the failure that stopped it otherwise
   * (a {@link TidemarkException} when a person must fix something).
   */
  public void run() {
    ActorSystem<Void> system;
    ServiceStreams streams;
    SharedMongoClients.Lease mongo;
    ServiceSettings settings;
    String uri;
    try {
      ServiceStreams.Checked checked = check(config, plugins);
      settings = ServiceSettings.create(config);
      uri = config.getString("tidemark.mongodb.uri");
      MongoConnector.parse(uri);
      MongoSettings mongoSettings = MongoSettings.create(config);
      // Joined by hand once everything is checked: with seed nodes in its configuration the system would join at once.
      Config unjoined = config.withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of()));
      system = ActorSystem.create(Behaviors.empty(), "tidemark", unjoined);
      try {
        streams = ServiceStreams.create(system, checked);
      } catch (RuntimeException e) {
        terminate(system);
        throw e;
      }
      try {
        MongoConnector.awaitStarted(uri, mongoSettings.connectTimeout, mongoSettings.startTimeout);
        // The deployment's clients, which the node's streams share (they are built from the same URI), held for the node's life.
        mongo = SharedMongoClients.get(system).lease(uri, mongoSettings.connectTimeout);
        MongoConnector.ping(mongo.client(), MongoConnector.redact(uri), mongoSettings.connectTimeout).toCompletableFuture().join();
      } catch (RuntimeException e) {
        streams.close();
        terminate(system);
        throw unwrapped(e);
      }
    } catch (RuntimeException e) {
      closeResource();
      throw e;
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-streams", () -> {
      try {
        streams.close();
        mongo.close();
      } finally {
        closeResource();
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    try {
      ManagementEndpoints.start(system);
    } catch (TidemarkException e) {
      terminate(system); // its shutdown task closes the streams, the client and the resource
      throw e;
    }
    String joining = ClusterJoin.start(system, config);
    CheckpointStore checkpoints = checkpointStore(system, settings, mongo.client(), shutdown);
    TokenReplica replica = TokenReplica.create(system);
    TidemarkMetrics.get(system).configured(streams.names());
    Consumer<Throwable> onFatal = stopOnStreamFailure
        ? error -> {
          fatal.compareAndSet(null, error);
          shutdown.run(FATAL);
        }
        : error ->
            // The stream's consumer stays here, idle, so that the cluster does not start it again; the node's other
            // streams run on. /ready, /tidemark/streams, tidemark_stream_up and `status` show it until the node restarts.
            log.error("a stream stopped for good on a failure a person must fix; this node's other streams run on, /ready answers 503: {}."
                + " Fix the cause, then restart this node: the stream starts again where the cluster places it", Errors.summary(error));
    StreamShards.init(system, "service", streams.names(), stream -> streams.pipeline(stream, uri, checkpoints, replica), onFatal);
    log.info("service node up: {} stream(s) {}, {}", streams.names().size(), streams.names(), joining);
    StreamProgress progress = new StreamProgress(system, streams.names(), settings);
    progress.start();
    companion.started(new Running(system, mongo.client(), progress, shutdown));
    system.getWhenTerminated().toCompletableFuture().join();
    Throwable failure = fatal.get();
    if (failure != null) throw unwrapped(failure);
  }

  /** The store {@code tidemark.service.checkpoint-store} names; a Redis store is closed with the system, a SQL store's pool after it. */
  private static CheckpointStore checkpointStore(ActorSystem<?> system, ServiceSettings settings, MongoClient client, CoordinatedShutdown shutdown) {
    return switch (settings.checkpointStore) {
      case JDBC -> JdbcCheckpointStore.create(system);
      case SQL -> {
        io.tidemark.checkpoint.SqlCheckpointStore sql = io.tidemark.checkpoint.SqlCheckpointStore.create(system);
        // Closed once the system has terminated: after the streams' last saves and releases, never under them.
        system.getWhenTerminated().thenRun(sql::close);
        yield sql;
      }
      case MONGODB -> MongoCheckpointStore.create(client, system);
      case REDIS -> {
        RedisCheckpointStore redis = RedisCheckpointStore.create(system);
        shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-redis", () -> {
          redis.close();
          return CompletableFuture.completedFuture(Done.getInstance());
        });
        yield redis;
      }
    };
  }

  /** The node as its {@link Companion} sees it. */
  public final class Running {
    private final ActorSystem<?> system;
    private final MongoClient client;
    private final StreamProgress progress;
    private final CoordinatedShutdown shutdown;

    private Running(ActorSystem<?> system, MongoClient client, StreamProgress progress, CoordinatedShutdown shutdown) {
      this.system = system;
      this.client = client;
      this.progress = progress;
      this.shutdown = shutdown;
    }

    public ActorSystem<?> system() {
      return system;
    }

    /** The client of the watched deployment, the node's streams' own. */
    public MongoClient client() {
      return client;
    }

    /** What the stream's progress lines end with from now on. */
    public void progressSuffix(String stream, Supplier<String> suffix) {
      progress.suffix(stream, suffix);
    }

    /** Prints the stream's progress line now. */
    public void printProgress(String stream) {
      progress.print(stream, 0);
    }

    /** Stops the node gracefully: its streams drain and save their checkpoints. */
    public void finish() {
      shutdown.run(FINISHED);
    }

    /** Stops the node gracefully; {@link ServiceNode#run()} then throws {@code failure}. */
    public void fail(Throwable failure) {
      fatal.compareAndSet(null, failure);
      shutdown.run(FATAL);
    }
  }

  private final AtomicBoolean resourceClosed = new AtomicBoolean();

  private void closeResource() {
    if (resource == null || !resourceClosed.compareAndSet(false, true)) return;
    try {
      resource.close();
    } catch (Exception e) {
      log.warn("could not close {}: {}", resource.getClass().getSimpleName(), Errors.summary(e));
    }
  }

  private static void terminate(ActorSystem<?> system) {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }

  private static RuntimeException unwrapped(Throwable error) {
    Throwable e = Errors.unwrap(error);
    return e instanceof RuntimeException runtime ? runtime : new RuntimeException(e);
  }
}
