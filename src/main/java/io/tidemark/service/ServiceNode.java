package io.tidemark.service;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.cluster.StreamShards;
import io.tidemark.cluster.TokenReplica;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.connection.MongoSettings;
import io.tidemark.management.TidemarkMetrics;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the configured service ({@code tidemark run}): every stream of
 * {@code tidemark.streams} has one consumer in the cluster, spread over the nodes by
 * {@link StreamShards}, and moved with its checkpoint and fencing when nodes come and go. The
 * configuration, the sinks and the stage classes are checked before the node joins the cluster, so
 * a bad one stops it with a {@link TidemarkException} and the cluster never sees it. It joins as
 * {@link ClusterJoin} says: Akka Cluster Bootstrap, the seed nodes, or, without any, a cluster of
 * its own. A stream that stops for good while running (a failure a person must fix) stays stopped
 * on this node and shows as failed; the node and its other streams run on.
 */
public final class ServiceNode {
  private static final Logger log = LoggerFactory.getLogger(ServiceNode.class);

  private final Config config;
  private final ClassLoader plugins;

  public ServiceNode(Config config, ClassLoader plugins) {
    this.config = config;
    this.plugins = plugins;
  }

  /** Runs until stopped; returns after a graceful stop. */
  public void run() {
    ServiceStreams.Checked checked = ServiceStreams.check(config, plugins);
    ClusterJoin.check(config);
    String uri = config.getString("tidemark.mongodb.uri");
    MongoSettings mongoSettings = MongoSettings.create(config);
    MongoConnector.parse(uri);
    // Joined by hand once everything is checked: with seed nodes in its configuration the system would join at once.
    Config unjoined = config.withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of()));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark", unjoined);
    ServiceStreams streams;
    SharedMongoClients.Lease mongo;
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
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-streams", () -> {
      streams.close();
      mongo.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    try {
      ManagementEndpoints.start(system);
    } catch (TidemarkException e) {
      terminate(system); // its shutdown task closes the streams and the client
      throw e;
    }
    String joining = ClusterJoin.start(system, config);
    CheckpointStore checkpoints = JdbcCheckpointStore.create(system);
    TokenReplica replica = TokenReplica.create(system);
    TidemarkMetrics.get(system).configured(streams.names());
    StreamShards.init(system, "service", streams.names(), stream -> streams.pipeline(stream, uri, checkpoints, replica), error ->
        // The stream's consumer stays here, idle, so that the cluster does not start it again; the node's other
        // streams run on. /ready, /tidemark/streams, tidemark_stream_up and `status` show it until the node restarts.
        log.error("a stream stopped for good on a failure a person must fix; this node's other streams run on, /ready answers 503: {}."
            + " Fix the cause, then restart this node: the stream starts again where the cluster places it", Errors.summary(error)));
    log.info("service node up: {} stream(s) {}, {}", streams.names().size(), streams.names(),
        joining);
    system.getWhenTerminated().toCompletableFuture().join();
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
