package io.tidemark.service;

import akka.Done;
import akka.actor.CoordinatedShutdown;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigValueFactory;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.window.WindowStats;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BooleanSupplier;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo ({@code demo}): the demo's stream configuration ({@link DemoStream}) on a one-node
 * {@link ServiceNode}, over an embedded MongoDB on the data directory (or {@code --mongodb}), with
 * the workload writing orders beside it. After {@code tidemark.demo.events} writes it stops, once
 * the stream has processed them all; a failure of the stream stops it too.
 */
public final class DemoJob implements ServiceNode.Companion {
  private static final Logger log = LoggerFactory.getLogger(DemoJob.class);

  private final Config config;
  private final DemoSettings settings;
  private final String externalMongo;

  /**
   * @param config the configuration with the demo's stream ({@link DemoStream#configure})
   * @param externalMongo a MongoDB URI to use instead of the embedded server, or null
   */
  public DemoJob(Config config, String externalMongo) {
    this.config = config.withValue("akka.cluster.seed-nodes", ConfigValueFactory.fromIterable(List.of()))
        .withValue("tidemark.cluster.bootstrap", ConfigValueFactory.fromAnyRef(false)); // a cluster of its own
    this.settings = DemoSettings.create(config);
    this.externalMongo = externalMongo;
  }

  /** Runs until stopped or done; throws the failure that stopped it. */
  public void run() {
    ClassLoader classes = DemoJob.class.getClassLoader();
    ServiceNode.check(config, classes); // before the embedded server starts
    EmbeddedMongo mongo = externalMongo == null ? startEmbedded() : null;
    Config withMongo = config.withValue("tidemark.mongodb.uri",
        ConfigValueFactory.fromAnyRef(mongo != null ? mongo.connectionString() : externalMongo));
    if (mongo != null) {
      try {
        mongo.awaitAnswering(MongoSettings.create(withMongo).startWait());
      } catch (RuntimeException e) {
        mongo.close();
        throw e;
      }
    }
    new ServiceNode(withMongo, classes).stopOnStreamFailure().closing(mongo).with(this).run();
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

  /** Once the stream has opened: the workload. */
  @Override
  public void started(ServiceNode.Running node) {
    ActorSystem<?> system = node.system();
    RunningPipelines.get(system).whenRunning(settings.stream).thenCompose(control -> control.stats().started()).thenCompose(position ->
            OrdersWorkload.start(system, node.client().getDatabase(settings.database).getCollection(settings.collection), settings.rate,
                settings.events))
        .thenAccept(started -> onWorkloadStarted(node, started.first(), started.second()))
        .exceptionally(error -> {
          log.error("demo workload could not start: {}", Errors.summary(error));
          node.fail(error);
          return null;
        });
  }

  private void onWorkloadStarted(ServiceNode.Running node, OrdersWorkload workload, Pair<UniqueKillSwitch, CompletionStage<Done>> running) {
    CoordinatedShutdown.get(node.system()).addTask(CoordinatedShutdown.PhaseBeforeServiceUnbind(), "stop-workload", () -> {
      running.first().shutdown();
      return CompletableFuture.completedFuture(Done.getInstance());
    });
    log.info("workload: {} writes/s to {}.{}{}", settings.rate, settings.database, settings.collection,
        settings.events > 0 ? ", " + settings.events + " writes in all" : " until stopped (Ctrl-C)");
    node.progressSuffix(settings.stream, () -> workloadSuffix(workload.writes()));
    if (settings.events > 0) {
      running.second()
          .thenCompose(done -> caughtUp(node.system(), node.client()))
          .whenComplete((done, error) -> {
            if (error != null) {
              log.error("demo workload failed: {}", Errors.summary(error));
              node.fail(error);
            } else {
              node.printProgress(settings.stream);
              log.info("all {} writes processed; stopping", workload.writes());
              node.finish();
            }
          });
    }
  }

  private static String workloadSuffix(long writes) {
    return writes < 0 ? "" : ", workload " + writes + " writes";
  }

  /** The demo's progress line ({@link StreamProgress}), with the workload's writes so far, or -1 without a workload. */
  static String progressLine(DemoSettings settings, boolean runningHere, WindowStats window, double rate, long writes, long nowMillis) {
    return StreamProgress.line(settings.stream, settings.standbyProgress, runningHere, window, rate, workloadSuffix(writes), nowMillis);
  }

  /** Completes when the stream has processed the newest oplog entry of the source collection. */
  private CompletionStage<Done> caughtUp(ActorSystem<?> system, MongoClient client) {
    String namespace = settings.database + "." + settings.collection;
    return MongoConnector.first(
            client.getDatabase("local").getCollection("oplog.rs")
                .find(Filters.eq("ns", namespace)).sort(Sorts.descending("ts")).limit(1))
        .thenCompose(last -> {
          BsonTimestamp ts = last == null ? null : last.get("ts", BsonTimestamp.class);
          if (ts == null) return CompletableFuture.completedFuture(Done.getInstance());
          return waitUntil(system, () -> RunningPipelines.get(system).running(settings.stream)
              .map(control -> control.stats().window().lastCompletedClusterTime() >= ts.getValue()).orElse(false));
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
}
