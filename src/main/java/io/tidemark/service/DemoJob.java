package io.tidemark.service;

import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoDatabase;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.StreamMdc;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.checkpoint.RedisCheckpointStore;
import io.tidemark.cluster.StreamSingleton;
import io.tidemark.cluster.TokenReplica;
import io.tidemark.pipeline.FailureSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.OplogSettings;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import io.tidemark.window.WindowStats;
import io.tidemark.pipeline.RunningPipelines;
import java.util.function.Supplier;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The main job, in one of two shapes:
 *
 * <ul>
 *   <li>{@link Mode#ONE_NODE} ({@code demo}): an embedded MongoDB, a one-node Akka cluster with
 *       the pipeline in a cluster singleton, a workload writing orders, and a sink keeping a view
 *       of them; stops gracefully on Ctrl-C or after {@code events} writes;
 *   <li>{@link Mode#CLUSTER_NODE} ({@code node}): one node of a cluster (seed nodes from the
 *       configuration) running the same pipeline in its singleton, against a MongoDB that outlives
 *       it, with the token replica for fast failover; no workload.
 * </ul>
 *
 * Both print progress, serve the management endpoints, drain and save on a graceful stop.
 */
public final class DemoJob {
  /** The figures shown while the stream does not run on this node. */
  private static final WindowStats IDLE = new WindowStats();

  private static final Logger log = LoggerFactory.getLogger(DemoJob.class);
  private static final org.slf4j.Logger progress = LoggerFactory.getLogger("tidemark.progress");

  /** The demo stops because it has done what was asked. */
  private static final CoordinatedShutdown.Reason FINISHED = new CoordinatedShutdown.Reason() {};
  /** The demo stops because the pipeline hit a failure a person must fix. */
  private static final CoordinatedShutdown.Reason FATAL = new CoordinatedShutdown.Reason() {};

  public enum Mode {
    ONE_NODE,
    CLUSTER_NODE
  }

  private final Config config;
  private final DemoSettings settings;
  private final String externalMongo;
  private final Mode mode;
  private final AtomicReference<Throwable> fatal = new AtomicReference<>();

  /** @param externalMongo a MongoDB URI to use instead of the embedded server, or null (one node only) */
  public DemoJob(Config config, String externalMongo, Mode mode) {
    this.config = config;
    this.settings = DemoSettings.create(config);
    this.externalMongo = externalMongo;
    this.mode = mode;
    if (mode == Mode.CLUSTER_NODE && externalMongo == null) {
      throw new TidemarkException("a cluster node needs --mongodb URI: the MongoDB the nodes share (see `mongo`)");
    }
    checkPipelineSettings(config);
  }

  /**
   * Reads every setting the pipeline will read, before anything starts: a bad one fails the start
   * with its key named, instead of a node that serves its endpoints, answers ready, and has no stream.
   */
  private static void checkPipelineSettings(Config config) {
    WindowSettings.create(config);
    SourceSettings.create(config);
    FailureSettings.create(config);
    FaultSettings.create(config);
    SnapshotSettings.create(config);
    io.tidemark.source.IncrementalSnapshotSettings.create(config);
    OplogSettings.create(config);
    ConfigCheck.positiveInt(config, "tidemark.pipeline.parallelism");
  }

  /**
   * Runs until stopped. Returns normally after a graceful stop; throws the failure that stopped
   * it otherwise (a {@link TidemarkException} when a person must fix something).
   */
  /** The store {@code tidemark.demo.checkpoint-store} names; a Redis store is closed with the system. */
  private CheckpointStore checkpointStore(ActorSystem<?> system, MongoClient client, CoordinatedShutdown shutdown) {
    return switch (settings.checkpointStore) {
      case MONGODB -> MongoCheckpointStore.create(client, system);
      case JDBC -> JdbcCheckpointStore.create(system);
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

  public void run() {
    EmbeddedMongo mongo = externalMongo == null ? startEmbedded() : null;
    String uri = mongo != null ? mongo.connectionString() : externalMongo;
    Config withMongo = ConfigFactory.parseMap(Map.of("tidemark.mongodb.uri", uri)).withFallback(config);
    MongoSettings mongoSettings = MongoSettings.create(withMongo);
    if (mongo != null) {
      try {
        mongo.awaitAnswering(mongoSettings.startWait());
      } catch (RuntimeException e) {
        mongo.close();
        throw e;
      }
    } else {
      MongoConnector.awaitStarted(uri, mongoSettings.connectTimeout, mongoSettings.startTimeout);
    }
    MongoClient client = MongoConnector.connect(uri, mongoSettings.connectTimeout);
    ActorSystem<Void> system;
    try {
      MongoConnector.ping(client, MongoConnector.redact(uri), mongoSettings.connectTimeout).toCompletableFuture().join();
      system = ActorSystem.create(Behaviors.empty(), "tidemark", withMongo);
    } catch (RuntimeException e) {
      client.close();
      if (mongo != null) mongo.close();
      throw unwrapped(e);
    }
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeActorSystemTerminate(), "close-mongodb", () -> {
      client.close();
      if (mongo != null) mongo.close();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    try {
      ManagementEndpoints.start(system);
    } catch (TidemarkException e) {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
      throw e;
    }
    if (mode == Mode.ONE_NODE) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
    }

    MongoDatabase database = client.getDatabase(settings.database);
    PipelineBuilder<Done> pipeline = OrdersView.stages(
        Pipeline.named(settings.stream)
            .mongoUri(uri)
            .collection(settings.database, settings.collection)
            .checkpoints(checkpointStore(system, client, shutdown))
            .replica(TokenReplica.create(system)),
        database, settings);
    StreamSingleton.init(system, pipeline, error -> {
      fatal.compareAndSet(null, error);
      shutdown.run(FATAL);
    });
    Supplier<WindowStats> window = () -> RunningPipelines.get(system).running(settings.stream)
        .map(control -> control.stats().window()).orElse(IDLE);

    if (mode == Mode.ONE_NODE) {
      RunningPipelines.get(system).whenRunning(settings.stream).thenCompose(control -> control.stats().started()).thenCompose(position ->
              OrdersWorkload.start(system, database.getCollection(settings.collection), settings.rate, settings.events))
          .thenAccept(started -> onWorkloadStarted(system, client, window, started.first(), started.second()))
          .exceptionally(error -> {
            fatal.compareAndSet(null, error);
            log.error("demo workload could not start: {}", Errors.summary(error));
            shutdown.run(FATAL);
            return null;
          });
    } else {
      printProgress(system, window, null);
    }

    system.getWhenTerminated().toCompletableFuture().join();
    Throwable failure = fatal.get();
    if (failure != null) throw unwrapped(failure);
  }

  private EmbeddedMongo startEmbedded() {
    try {
      return EmbeddedMongo.start(settings.dataDir, "127.0.0.1", settings.mongodbPort, EmbeddedSettings.create(config));
    } catch (Exception e) { // Netty throws the checked BindException undeclared
      for (Throwable cause = e; cause != null; cause = cause.getCause()) {
        if (cause instanceof java.net.BindException) {
          throw new TidemarkException("the embedded MongoDB cannot listen on 127.0.0.1:" + settings.mongodbPort
              + ": the port is in use; expected a free port in tidemark.demo.mongodb-port (--port), or none for any free port", e);
        }
      }
      throw e instanceof RuntimeException runtime ? runtime : new IllegalStateException(e);
    }
  }

  private void onWorkloadStarted(
      ActorSystem<?> system, MongoClient client, Supplier<WindowStats> window, OrdersWorkload workload,
      Pair<UniqueKillSwitch, CompletionStage<Done>> running) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-workload", () -> {
      running.first().shutdown();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    log.info("workload: {} writes/s to {}.{}{}", settings.rate, settings.database, settings.collection,
        settings.events > 0 ? ", " + settings.events + " writes in all" : " until stopped (Ctrl-C)");
    printProgress(system, window, workload);
    if (settings.events > 0) {
      running.second()
          .thenCompose(done -> caughtUp(system, client, window))
          .whenComplete((done, error) -> {
            if (error != null) {
              log.error("demo workload failed: {}", Errors.summary(error));
              fatal.compareAndSet(null, error);
            } else {
              String line = progressLine(system, window, 0, workload);
              if (line != null) StreamMdc.with(settings.stream, () -> progress.info(line));
              log.info("all {} writes processed; stopping", workload.writes());
            }
            shutdown.run(error == null ? FINISHED : FATAL);
          });
    }
  }

  private void printProgress(ActorSystem<?> system, Supplier<WindowStats> window, OrdersWorkload workload) {
    if (settings.progressInterval.isZero()) return;
    long[] last = {window.get().completed(), System.nanoTime()};
    system.scheduler().scheduleAtFixedRate(settings.progressInterval, settings.progressInterval, () -> {
      long now = System.nanoTime();
      long completed = window.get().completed();
      if (completed < last[0]) last[0] = 0; // the consumer started again on this node: its counts begin anew
      double rate = (completed - last[0]) / ((now - last[1]) / 1e9);
      last[0] = completed;
      last[1] = now;
      String line = progressLine(system, window, rate, workload);
      if (line != null) StreamMdc.with(settings.stream, () -> progress.info(line));
    }, system.executionContext());
  }

  private String progressLine(ActorSystem<?> system, Supplier<WindowStats> current, double rate, OrdersWorkload workload) {
    boolean runningHere = RunningPipelines.get(system).all().stream().anyMatch(entry -> entry.control().stream().equals(settings.stream));
    return progressLine(settings, runningHere, current.get(), rate, workload == null ? -1 : workload.writes(), System.currentTimeMillis());
  }

  /**
   * The progress line of the stream, or null for none: a node on which the stream does not run and
   * never ran prints "standby" only under {@code tidemark.demo.standby-progress}.
   *
   * @param writes the workload's writes so far, or -1 without a workload
   */
  static String progressLine(DemoSettings settings, boolean runningHere, WindowStats window, double rate, long writes, long nowMillis) {
    String workload = writes < 0 ? "" : ", workload " + writes + " writes";
    if (!runningHere && window.completed() == 0) {
      return settings.standbyProgress ? settings.stream + ": standby (the stream runs on another node)" + workload : null;
    }
    long clusterSeconds = window.lastCompletedClusterTimeSeconds();
    String lag = clusterSeconds == 0 ? "-" : Math.max(0, nowMillis / 1000 - clusterSeconds) + "s";
    Checkpoint saved = window.lastSaved();
    String age = saved == null ? "-" : String.format("%.1fs", (nowMillis - window.lastSavedAtMillis()) / 1000.0);
    return String.format(
        "%s: %d events processed, %.1f events/s, lag %s, checkpoint age %s, in flight %d%s%s",
        settings.stream, window.completed(), rate, lag, age, window.inFlight(), workload,
        runningHere ? "" : " (no longer running here)");
  }

  /** Completes when the pipeline has processed the newest oplog entry of the source collection. */
  private CompletionStage<Done> caughtUp(ActorSystem<?> system, MongoClient client, Supplier<WindowStats> window) {
    String namespace = settings.database + "." + settings.collection;
    return MongoConnector.first(
            client.getDatabase("local").getCollection("oplog.rs")
                .find(Filters.eq("ns", namespace)).sort(Sorts.descending("ts")).limit(1))
        .thenCompose(last -> {
          BsonTimestamp ts = last == null ? null : last.get("ts", BsonTimestamp.class);
          if (ts == null) return CompletableFuture.completedFuture(Done.getInstance());
          return waitUntil(system, () -> window.get().lastCompletedClusterTime() >= ts.getValue());
        });
  }

  private static CompletionStage<Done> waitUntil(ActorSystem<?> system, BooleanSupplier condition) {
    CompletableFuture<Done> result = new CompletableFuture<>();
    akka.actor.Cancellable[] poll = new akka.actor.Cancellable[1];
    poll[0] = system.scheduler().scheduleAtFixedRate(Duration.ofMillis(100), Duration.ofMillis(100), () -> {
      if (condition.getAsBoolean() && result.complete(Done.getInstance())) poll[0].cancel();
    }, system.executionContext());
    return result;
  }

  private static RuntimeException unwrapped(Throwable error) {
    Throwable e = Errors.unwrap(error);
    return e instanceof RuntimeException runtime ? runtime : new RuntimeException(e);
  }
}
