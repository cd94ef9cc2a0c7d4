package io.tidemark.pipeline;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.NotUsed;
import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Flow;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Errors;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointStoreUnavailableException;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.source.ChangeStreamSource;
import io.tidemark.source.CursorProbe;
import io.tidemark.source.OplogMonitor;
import io.tidemark.source.ResumableErrors;
import io.tidemark.source.ResumeTokens;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running pipeline: what it holds for its whole life (a lease on the deployment's shared MongoDB
 * clients when it was built from the URI, the cursor probe, its oplog monitor) and its runs, each from the checkpoint the last one left. A run
 * opens the stream's checkpoint record, takes a lease on it, materializes the graph, and releases
 * the record when it ends; {@link PipelineRunner} starts the next one after a failed stage.
 */
final class PipelineRuns {
  private static final Logger log = LoggerFactory.getLogger(PipelineRuns.class);

  private final PipelineSpec spec;
  private final Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages;
  private final PipelineSettings settings;
  private final ActorSystem<?> system;
  private final PipelineStats stats = new PipelineStats();
  private final SharedMongoClients.Lease lease;
  private final MongoClient client;
  private final String where;
  private final io.tidemark.source.IncrementalSnapshotSettings incremental;
  /** Where incremental snapshot requests are read from; null: none. */
  private final com.mongodb.MongoNamespace signals;
  private final CursorProbe probe;

  private PipelineRuns(
      PipelineSpec spec, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages, PipelineSettings settings,
      ActorSystem<?> system) {
    this.spec = spec;
    this.stages = stages;
    this.settings = settings;
    this.system = system;
    String uri = spec.mongoClient != null ? null : (spec.mongoUri != null ? spec.mongoUri : settings.mongo().uri);
    // A client given by the caller stays the caller's; from a URI, the streams of a deployment share its clients.
    this.lease = uri == null ? null : SharedMongoClients.get(system).lease(uri, settings.mongo().connectTimeout);
    this.client = lease == null ? spec.mongoClient : lease.client();
    if (lease != null) stats.errorsFrom(() -> lease.failures().counts(spec.stream));
    this.where = uri != null ? MongoConnector.hosts(uri) : "the given client";
    this.incremental = spec.incrementalSnapshotSettings != null
        ? spec.incrementalSnapshotSettings : io.tidemark.source.IncrementalSnapshotSettings.create(system);
    this.signals = incremental.enabled() ? incremental.namespace(spec.target.database()) : null;
    this.probe = lease == null ? null : new CursorProbe(lease.syncClient(), spec.target, spec.match);
    if (uri == null && settings.faults().heartbeat) {
      StreamMdc.info(log, spec.stream, "stream '{}': no heartbeats with a client given by the caller (they need the URI); a quiet stream's checkpoint"
          + " follows only its own events", spec.stream);
    }
  }

  /** Starts the pipeline's first run and returns its control. */
  static PipelineControl start(
      PipelineSpec spec, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages, PipelineSettings settings,
      ActorSystem<?> system) {
    PipelineRuns runs = new PipelineRuns(spec, stages, settings, system);
    PipelineRunner runner = new PipelineRunner(spec.stream, runs::runOnce, settings.failure(), system, runs.stats);
    Cancellable monitoring = settings.oplog().enabled
        ? new OplogMonitor(spec.stream, runs.client, settings.oplog(), runs::checkpointTime, runs.stats::onOplogSample).start(system)
        : null;
    runner.completion().whenComplete((done, error) -> {
      if (monitoring != null) monitoring.cancel();
      runs.close();
      if (error != null) StreamMdc.error(log, spec.stream, "stream '{}' stopped: {}", spec.stream, Errors.summary(error));
    });
    StreamMdc.info(log, spec.stream, "stream '{}': watching {} on {} (window {}, checkpoint every {} events or {} ms, parallelism {}, on failure {}, startup {})",
        spec.stream, spec.target, runs.where, settings.window().size, settings.window().checkpointEveryEvents,
        settings.window().checkpointEveryInterval.toMillis(), settings.parallelism(),
        settings.failure().policy.name().toLowerCase(Locale.ROOT).replace('_', '-'), settings.snapshots().mode.label());
    PipelineControl control = new PipelineControl(spec.stream, runner, runs.stats);
    RunningPipelines.get(system).started(control);
    runner.completion().whenComplete((done, error) -> RunningPipelines.get(system).stopped(control, error));
    runner.start();
    return control;
  }

  private void close() {
    if (lease != null) lease.close();
  }

  /** One run: open the stream's checkpoint record, materialize the graph, release the record at the end. */
  private Pair<UniqueKillSwitch, CompletionStage<Done>> runOnce() {
    RunContext run = new RunContext(spec.stream, settings.failure(), spec.deadLetters, stats);
    CompletableFuture<StreamCheckpoints> opened = spec.checkpoints.open(spec.stream).toCompletableFuture();
    CompletableFuture<Lease> lease = new CompletableFuture<>();
    PipelineRecovery recovery =
        new PipelineRecovery(spec.stream, client, where, settings.mongo().connectTimeout, settings.faults(), lease, stats);
    StartPosition start = new StartPosition(spec, settings, client, where, probe, stats, system);
    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        PipelineGraph.create(
                ChangeStreamSource.create(new ChangeStreamSource.Definition(
                    spec.stream, client, spec.target, spec.match, spec.fullDocument, settings.source(), settings.faults(),
                    () -> start.resolve(opened, lease, recovery), PipelineRuns::restartable, recovery,
                    settings.faults().heartbeat ? probe : null, settings.snapshots(), stats.snapshot())).via(incrementalSnapshots()),
                settings.window(), settings.parallelism(), stages, checkpoint -> lease.thenCompose(taken -> taken.save(checkpoint)),
                stats.window(), run)
            .run(system);
    Cancellable publishing = spec.replica == null ? null : ReplicaPublisher.start(system, spec.replica, spec.stream, stats.window(), lease);
    CompletionStage<Done> ended =
        running.second().handle((done, error) -> {
          if (publishing != null) publishing.cancel();
          opened.thenAccept(StreamCheckpoints::close);
          Checkpoint last = stats.window().lastSaved();
          String at = last == null ? "none written" : last.position().describe();
          if (error == null) {
            StreamMdc.info(log, spec.stream, "stream '{}' stopped; last checkpoint: {}", spec.stream, at);
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          Throwable explained = Faults.explain(spec.stream, Errors.unwrap(error), settings.faults());
          StreamMdc.warn(log, spec.stream, "stream '{}' run failed: {}; last checkpoint: {}", spec.stream, Errors.summary(explained), at);
          return CompletableFuture.<Done>failedFuture(explained);
        }).thenCompose(result -> result);
    return Pair.create(running.first(), ended);
  }

  /** The incremental snapshots stage of a run (requests from the signal collection); nothing when there is none. */
  private akka.stream.Graph<akka.stream.FlowShape<io.tidemark.source.StreamElement, io.tidemark.source.StreamElement>, akka.NotUsed>
      incrementalSnapshots() {
    if (signals == null) return akka.stream.javadsl.Flow.<io.tidemark.source.StreamElement>create();
    java.util.function.LongSupplier safe = () -> {
      io.tidemark.source.StreamElement position = stats.window().safe();
      return position == null ? -1 : position.seqNr();
    };
    return new io.tidemark.source.IncrementalSnapshots(
        spec.stream, new io.tidemark.source.SignalCollection(spec.stream, client, signals), incremental, safe, stats.incrementalSnapshot());
  }

  /** The cluster time of the newest saved checkpoint, read out of its token when it has none of its own. */
  private BsonTimestamp checkpointTime() {
    Checkpoint saved = stats.window().lastSaved();
    if (saved == null) return null;
    return saved.clusterTime() != null ? saved.clusterTime() : ResumeTokens.clusterTime(saved.resumeToken());
  }

  private static boolean restartable(Throwable error) {
    return ResumableErrors.isResumable(error) || Errors.unwrap(error) instanceof CheckpointStoreUnavailableException;
  }
}
