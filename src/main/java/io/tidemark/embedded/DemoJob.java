package io.tidemark.embedded;

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

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.cluster.StreamSingleton;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.MongoConnector;
import io.tidemark.source.MongoSettings;
import io.tidemark.window.WindowStats;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicReference;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The main job: an embedded MongoDB, a single-node Akka cluster with the pipeline in a cluster
 * singleton, a workload writing orders, and a sink keeping a view of them. Prints progress; stops
 * gracefully (draining and saving the checkpoint) on Ctrl-C or after {@code events} writes.
 */
public final class DemoJob {
  private static final Logger log = LoggerFactory.getLogger(DemoJob.class);
  private static final Logger progress = LoggerFactory.getLogger("tidemark.progress");

  /** The demo stops because it has done what was asked. */
  private static final CoordinatedShutdown.Reason FINISHED = new CoordinatedShutdown.Reason() {};
  /** The demo stops because the pipeline hit a failure a person must fix. */
  private static final CoordinatedShutdown.Reason FATAL = new CoordinatedShutdown.Reason() {};

  private final Config config;
  private final DemoSettings settings;
  private final String externalMongo;
  private final AtomicReference<Throwable> fatal = new AtomicReference<>();

  /** @param externalMongo a MongoDB URI to use instead of the embedded server, or null */
  public DemoJob(Config config, String externalMongo) {
    this.config = config;
    this.settings = DemoSettings.create(config);
    this.externalMongo = externalMongo;
  }

  /**
   * Runs until stopped. Returns normally after a graceful stop; throws the failure that stopped
   * it otherwise (a {@link TidemarkException} when a person must fix something).
   */
  public void run() {
    EmbeddedMongo mongo =
        externalMongo == null
            ? EmbeddedMongo.start(settings.dataDir, "127.0.0.1", settings.mongodbPort, EmbeddedSettings.create(config))
            : null;
    String uri = mongo != null ? mongo.connectionString() : externalMongo;
    Config withMongo = ConfigFactory.parseMap(java.util.Map.of("tidemark.mongodb.uri", uri)).withFallback(config);
    MongoSettings mongoSettings = MongoSettings.create(withMongo);
    MongoClient client = MongoConnector.connect(uri, mongoSettings.connectTimeout);
    ActorSystem<Void> system;
    try {
      MongoConnector.ping(client, uri, mongoSettings.connectTimeout).toCompletableFuture().join();
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
    Cluster cluster = Cluster.get(system);
    cluster.manager().tell(Join.create(cluster.selfMember().address()));

    MongoDatabase database = client.getDatabase(settings.database);
    PipelineBuilder<Done> pipeline =
        Pipeline.named(settings.stream)
            .mongoUri(uri)
            .collection(settings.database, settings.collection)
            .checkpoints(JdbcCheckpointStore.create(system))
            .via(OrdersView.stage(database, settings));
    StreamSingleton.init(system, pipeline, error -> {
      fatal.compareAndSet(null, error);
      shutdown.run(FATAL);
    });

    pipeline.stats().started().thenCompose(position ->
            OrdersWorkload.start(system, database.getCollection(settings.collection), settings.rate, settings.events))
        .thenAccept(started -> onWorkloadStarted(system, client, pipeline.stats().window(), started.first(), started.second()))
        .exceptionally(error -> {
          fatal.compareAndSet(null, error);
          log.error("demo workload could not start: {}", Errors.summary(error));
          shutdown.run(FATAL);
          return null;
        });

    system.getWhenTerminated().toCompletableFuture().join();
    Throwable failure = fatal.get();
    if (failure != null) throw unwrapped(failure);
  }

  private void onWorkloadStarted(
      ActorSystem<?> system, MongoClient client, WindowStats window, OrdersWorkload workload,
      Pair<UniqueKillSwitch, CompletionStage<Done>> running) {
    CoordinatedShutdown shutdown = CoordinatedShutdown.get(system);
    shutdown.addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-workload", () -> {
      running.first().shutdown();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    log.info("workload: {} writes/s to {}.{}{}", settings.rate, settings.database, settings.collection,
        settings.events > 0 ? ", " + settings.events + " writes in all" : " until stopped (Ctrl-C)");
    long[] last = {window.completed(), System.nanoTime()};
    system.scheduler().scheduleAtFixedRate(settings.progressInterval, settings.progressInterval, () -> {
      long now = System.nanoTime();
      long completed = window.completed();
      double rate = (completed - last[0]) / ((now - last[1]) / 1e9);
      last[0] = completed;
      last[1] = now;
      progress.info(progressLine(window, rate, workload.writes()));
    }, system.executionContext());
    if (settings.events > 0) {
      running.second()
          .thenCompose(done -> caughtUp(system, client, window))
          .whenComplete((done, error) -> {
            if (error != null) {
              log.error("demo workload failed: {}", Errors.summary(error));
              fatal.compareAndSet(null, error);
            } else {
              progress.info(progressLine(window, 0, workload.writes()));
              log.info("all {} writes processed; stopping", workload.writes());
            }
            shutdown.run(error == null ? FINISHED : FATAL);
          });
    }
  }

  private String progressLine(WindowStats window, double rate, long writes) {
    long nowMillis = System.currentTimeMillis();
    long clusterSeconds = window.lastCompletedClusterTimeSeconds();
    String lag = clusterSeconds == 0 ? "-" : Math.max(0, nowMillis / 1000 - clusterSeconds) + "s";
    Checkpoint saved = window.lastSaved();
    String age = saved == null ? "-" : String.format("%.1fs", (nowMillis - window.lastSavedAtMillis()) / 1000.0);
    return String.format(
        "%s: %d events processed, %.1f events/s, lag %s, checkpoint age %s, in flight %d, workload %d writes",
        settings.stream, window.completed(), rate, lag, age, window.inFlight(), writes);
  }

  /** Completes when the pipeline has processed the newest oplog entry of the source collection. */
  private CompletionStage<Done> caughtUp(ActorSystem<?> system, MongoClient client, WindowStats window) {
    String namespace = settings.database + "." + settings.collection;
    return MongoConnector.first(
            client.getDatabase("local").getCollection("oplog.rs")
                .find(Filters.eq("ns", namespace)).sort(Sorts.descending("ts")).limit(1))
        .thenCompose(last -> {
          BsonTimestamp ts = last == null ? null : last.get("ts", BsonTimestamp.class);
          if (ts == null) return CompletableFuture.completedFuture(Done.getInstance());
          return waitUntil(system, () -> window.lastCompletedClusterTime() >= ts.getValue());
        });
  }

  private static CompletionStage<Done> waitUntil(ActorSystem<?> system, java.util.function.BooleanSupplier condition) {
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
