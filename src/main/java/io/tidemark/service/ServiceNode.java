package io.tidemark.service;

import akka.Done;
import akka.actor.AddressFromURIString;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.cluster.typed.JoinSeedNodes;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.cluster.StreamShards;
import io.tidemark.cluster.TokenReplica;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One node of the configured service ({@code tidemark run}): every stream of
 * {@code tidemark.streams} has one consumer in the cluster, spread over the nodes by
 * {@link StreamShards}, and moved with its checkpoint and fencing when nodes come and go. The
 * configuration, the sinks and the stage classes are checked before the node joins the cluster, so
 * a bad one stops it with a {@link TidemarkException} and the cluster never sees it. Without
 * {@code akka.cluster.seed-nodes} the node is a cluster of its own.
 */
public final class ServiceNode {
  private static final Logger log = LoggerFactory.getLogger(ServiceNode.class);
  /** The service stops because a stream hit a failure a person must fix. */
  private static final CoordinatedShutdown.Reason FATAL = new CoordinatedShutdown.Reason() {};

  private final Config config;
  private final ClassLoader plugins;
  private final AtomicReference<Throwable> fatal = new AtomicReference<>();

  public ServiceNode(Config config, ClassLoader plugins) {
    this.config = config;
    this.plugins = plugins;
  }

  /** Runs until stopped; returns after a graceful stop, throws what stopped it otherwise. */
  public void run() {
    ServiceStreams.Checked checked = ServiceStreams.check(config, plugins);
    List<String> seeds = config.getStringList("akka.cluster.seed-nodes");
    String uri = config.getString("tidemark.mongodb.uri");
    MongoSettings mongoSettings = MongoSettings.create(config);
    MongoConnector.parse(uri);
    // Joined by hand once everything is checked: with seed nodes in its configuration the system would join at once.
    Config unjoined = config.withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of()));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark", unjoined);
    ServiceStreams streams;
    MongoClient client;
    try {
      streams = ServiceStreams.create(system, checked);
    } catch (RuntimeException e) {
      terminate(system);
      throw e;
    }
    try {
      MongoConnector.awaitStarted(uri, mongoSettings.connectTimeout, mongoSettings.startTimeout);
      client = MongoConnector.connect(uri, mongoSettings.connectTimeout);
      MongoConnector.ping(client, MongoConnector.redact(uri), mongoSettings.connectTimeout).toCompletableFuture().join();
    } catch (RuntimeException e) {
      streams.close();
      terminate(system);
      throw unwrapped(e);
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-streams", () -> {
      streams.close();
      client.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    try {
      ManagementEndpoints.start(system);
    } catch (TidemarkException e) {
      terminate(system);
      throw e;
    }
    Cluster cluster = Cluster.get(system);
    if (seeds.isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    } else {
      cluster.manager().tell(new JoinSeedNodes(seeds.stream().map(AddressFromURIString::parse).toList()));
    }
    CheckpointStore checkpoints = JdbcCheckpointStore.create(system);
    TokenReplica replica = TokenReplica.create(system);
    StreamShards.init(system, "service", streams.names(), stream -> streams.pipeline(stream, client, checkpoints, replica), error -> {
      fatal.compareAndSet(null, error);
      log.error("a stream stopped on a failure a person must fix; stopping the node: {}", Errors.summary(error));
      shutdown.run(FATAL);
    });
    log.info("service node up: {} stream(s) {}, {}", streams.names().size(), streams.names(),
        seeds.isEmpty() ? "one-node cluster" : "joining " + seeds);
    system.getWhenTerminated().toCompletableFuture().join();
    Throwable failure = fatal.get();
    if (failure != null) throw unwrapped(failure);
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
