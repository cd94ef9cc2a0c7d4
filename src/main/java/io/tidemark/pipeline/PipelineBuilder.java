package io.tidemark.pipeline;

import akka.Done;
import akka.NotUsed;
import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Acquired;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointReplica;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.CheckpointStoreUnavailableException;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.ChangeStreamSource;
import io.tidemark.source.ChangeStreamTarget;
import io.tidemark.connection.CommandFailures;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.CursorProbe;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import io.tidemark.source.OplogMonitor;
import io.tidemark.source.OplogSettings;
import io.tidemark.source.ResumableErrors;
import io.tidemark.source.ResumeTokens;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.window.WindowSettings;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Composes one pipeline: what to watch, where its checkpoint lives, and the user's stages. The
 * builder is immutable; every method returns a new one. {@link #run(ActorSystem)} starts it.
 *
 * @param <T> what the user's stages emit so far
 */
public final class PipelineBuilder<T> {
  private static final Logger log = LoggerFactory.getLogger(PipelineBuilder.class);

  /** Everything but the stages; copied on every change, so builders never share mutable state. */
  private static final class Spec implements Cloneable {
    String stream;
    String mongoUri;
    MongoClient mongoClient;
    ChangeStreamTarget target;
    List<Bson> match = List.of();
    FullDocument fullDocument;
    CheckpointStore checkpoints;
    ResumePosition configuredStart;
    WindowSettings windowSettings;
    SourceSettings sourceSettings;
    FailureSettings failureSettings;
    FaultSettings faultSettings;
    SnapshotSettings snapshotSettings;
    StartupMode startup;
    Integer parallelism;
    DeadLetterStore deadLetters;
    CheckpointReplica replica;
    PipelineStats stats = new PipelineStats();

    Spec with(Consumer<Spec> change) {
      try {
        Spec copy = (Spec) clone();
        change.accept(copy);
        return copy;
      } catch (CloneNotSupportedException e) {
        throw new AssertionError(e);
      }
    }
  }

  private final Spec spec;
  /** The user's stages so far, over elements paired with their context; {@code T} is what they emit. */
  private final Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages;
  private final int stageCount;

  private PipelineBuilder(Spec spec, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages, int stageCount) {
    this.spec = spec;
    this.stages = stages;
    this.stageCount = stageCount;
  }

  static PipelineBuilder<ChangeEnvelope> start(String stream) {
    Spec spec = new Spec();
    spec.stream = stream;
    return new PipelineBuilder<>(spec, Flow.create(), 0);
  }

  private PipelineBuilder<T> with(Consumer<Spec> change) {
    return new PipelineBuilder<>(spec.with(change), stages, stageCount);
  }

  private <R> PipelineBuilder<R> then(Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> step) {
    return new PipelineBuilder<>(spec, stages.via(step), stageCount + 1);
  }

  private String stageName(String operator) {
    return "stage " + (stageCount + 1) + " (" + operator + ") of stream '" + spec.stream + "'";
  }

  /** Connect with this URI; the pipeline owns the client and closes it when it stops. */
  public PipelineBuilder<T> mongoUri(String uri) {
    MongoConnector.parse(uri);
    return with(s -> {
      s.mongoUri = uri;
      s.mongoClient = null;
    });
  }

  /** Use a client the caller owns (and closes). */
  public PipelineBuilder<T> mongoClient(MongoClient client) {
    Objects.requireNonNull(client, "client");
    return with(s -> {
      s.mongoClient = client;
      s.mongoUri = null;
    });
  }

  public PipelineBuilder<T> collection(String database, String collection) {
    return with(s -> s.target = ChangeStreamTarget.collection(database, collection));
  }

  /** Watch every collection of a database. */
  public PipelineBuilder<T> database(String database) {
    return with(s -> s.target = ChangeStreamTarget.database(database));
  }

  /** Aggregation stages after {@code $changeStream}, such as {@code Aggregates.match(...)}; they must keep {@code _id}. */
  public PipelineBuilder<T> match(Bson... pipelineStages) {
    List<Bson> stagesAfterChangeStream = List.copyOf(Arrays.asList(pipelineStages));
    return with(s -> s.match = stagesAfterChangeStream);
  }

  public PipelineBuilder<T> fullDocument(FullDocument mode) {
    return with(s -> s.fullDocument = mode);
  }

  public PipelineBuilder<T> checkpoints(CheckpointStore store) {
    Objects.requireNonNull(store, "store");
    return with(s -> s.checkpoints = store);
  }

  /** Where to start when the stream has no checkpoint yet (otherwise: now). */
  public PipelineBuilder<T> startAtOperationTime(BsonTimestamp time) {
    return with(s -> s.configuredStart = ResumePosition.startAtOperationTime(time));
  }

  /** Start after this token when the stream has no checkpoint yet; also past an invalidate. */
  public PipelineBuilder<T> startAfter(BsonDocument token) {
    return with(s -> s.configuredStart = ResumePosition.startAfter(token));
  }

  /** Window size and checkpoint throttle; defaults come from {@code tidemark.pipeline}. */
  public PipelineBuilder<T> windowSettings(WindowSettings settings) {
    return with(s -> s.windowSettings = settings);
  }

  public PipelineBuilder<T> sourceSettings(SourceSettings settings) {
    return with(s -> s.sourceSettings = settings);
  }

  /**
   * Up to P events of different documentKeys at a time; events of one key never concurrently and
   * never out of order. Default: {@code tidemark.pipeline.parallelism}.
   */
  public PipelineBuilder<T> parallelism(int parallelism) {
    if (parallelism < 1) throw new TidemarkException("parallelism must be at least 1, was " + parallelism);
    return with(s -> s.parallelism = parallelism);
  }

  /** The fault policies (history lost, invalid token, invalidate, oversize events) and heartbeats; default from config. */
  public PipelineBuilder<T> faults(FaultSettings settings) {
    return with(s -> s.faultSettings = settings);
  }

  /**
   * What the stream does when it has no checkpoint yet: follow the change stream only (the
   * default, {@code tidemark.pipeline.startup.mode}), or first copy the collection's documents
   * (then stream, or stop). See docs/snapshot.md.
   */
  public PipelineBuilder<T> startup(StartupMode mode) {
    Objects.requireNonNull(mode, "mode");
    return with(s -> s.startup = mode);
  }

  /** How snapshots copy (batch size, progress interval); default from {@code tidemark.pipeline.startup}. */
  public PipelineBuilder<T> snapshotSettings(SnapshotSettings settings) {
    Objects.requireNonNull(settings, "settings");
    return with(s -> s.snapshotSettings = settings);
  }

  /** The failing-stage policy; default from {@code tidemark.pipeline.on-failure}. */
  public PipelineBuilder<T> onFailure(FailureSettings settings) {
    return with(s -> s.failureSettings = settings);
  }

  /**
   * Replicates the newest safe token in memory across the cluster (such as {@code TokenReplica}),
   * so that a consumer taking over starts from it when it is fresher than the durable checkpoint.
   */
  public PipelineBuilder<T> replica(CheckpointReplica replica) {
    Objects.requireNonNull(replica, "replica");
    return with(s -> s.replica = replica);
  }

  /** Where the {@code dead-letter} policy records the events it gives up on. */
  public PipelineBuilder<T> deadLetters(DeadLetterStore store) {
    Objects.requireNonNull(store, "store");
    return with(s -> s.deadLetters = store);
  }

  // ---- the user's stages -------------------------------------------------------------------------
  //
  // Every operator keeps order and knows when an event is done: an event is done when its last
  // element leaves the last stage (see EventContext). Each one-event-at-a-time operator below has
  // the same failure rule: the failing-stage policy (retry, dead-letter, stop) applies to it.

  /** Turns each element into another; a null result means none (the event is done with it). */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<R> map(Function<T, R> f) {
    Objects.requireNonNull(f, "f");
    return then(EventStep.sync(stageName("map"), element -> java.util.Collections.singletonList(f.apply((T) element))));
  }

  /** Keeps the elements the predicate accepts; an event whose elements are all dropped is done. */
  @SuppressWarnings("unchecked")
  public PipelineBuilder<T> filter(java.util.function.Predicate<T> predicate) {
    Objects.requireNonNull(predicate, "predicate");
    return then(EventStep.sync(stageName("filter"),
        element -> predicate.test((T) element) ? java.util.Collections.singletonList(element) : List.of()));
  }

  /**
   * Turns each element into any number of elements (fan-out); the event is done only when every one
   * of them has left the last stage. None: the event is done with it.
   */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<R> mapConcat(Function<T, ? extends Iterable<R>> f) {
    Objects.requireNonNull(f, "f");
    return then(EventStep.sync(stageName("mapConcat"), element -> f.apply((T) element)));
  }

  /**
   * Applies {@code f} to one element at a time, in order, and waits for it: the stage for writes. A
   * null result means no element goes on (the event is done). Under the {@code dead-letter} policy
   * an element whose {@code f} fails is tried {@code dead-letter.attempts} times, then recorded in
   * the dead-letter store and skipped.
   */
  @SuppressWarnings("unchecked")
  public <R> PipelineBuilder<R> mapAsync(Function<T, CompletionStage<R>> f) {
    Objects.requireNonNull(f, "f");
    return then(EventStep.async(stageName("mapAsync"), (element, context) -> f.apply((T) element)));
  }

  /**
   * Runs a handler for each event, such as {@code ShardedWorkers}, which runs it in the sharded
   * entity of the event's documentKey on whichever node hosts it. With {@link #parallelism(int)} P,
   * up to P keys at a time. Per-event like {@link #mapAsync(Function)}.
   */
  public PipelineBuilder<Done> handle(EventHandler handler) {
    Objects.requireNonNull(handler, "handler");
    String stream = spec.stream;
    return then(EventStep.async(stageName("handle"), (element, context) -> handler.handle(stream, context.envelope())));
  }

  /**
   * Batches up to {@code size} elements, or what arrived within {@code within}, into one list (for
   * bulk writes). A batch completes every event it holds; the time bound keeps a quiet stream's last
   * events from waiting.
   */
  public PipelineBuilder<List<T>> grouped(int size, java.time.Duration within) {
    if (size < 1) throw new TidemarkException("grouped(size, within): size must be at least 1, was " + size);
    Objects.requireNonNull(within, "within");
    if (within.isZero() || within.isNegative()) throw new TidemarkException("grouped(size, within): within must be positive, was " + within);
    return then(Batches.grouped(size, within));
  }

  /**
   * Appends stages of your own, such as Akka operators or an Alpakka connector's flow with context.
   * They must emit exactly one element for each element, in order, and pass the context through —
   * map-like operators and {@code mapAsync} do. Operators known to break that ({@code filter},
   * {@code mapConcat}, {@code grouped}, {@code mapAsyncUnordered}, {@code take}, ...) are refused
   * here, with the builder operator to use instead; anything else that breaks it stops the pipeline
   * at the first element that shows it. Only values reach these stages; a failure in them follows
   * the failing-stage policy's {@code retry} or {@code stop} (dead letters are for the per-event
   * operators above).
   */
  public <R> PipelineBuilder<R> via(FlowWithContext<T, EventContext, R, EventContext, ?> next) {
    Objects.requireNonNull(next, "next");
    String name = stageName("via");
    Flow<Pair<T, EventContext>, Pair<R, EventContext>, ?> flow = next.asFlow();
    OneToOneOperators.check(name, flow);
    return then(OneToOneGuard.guard(name, widened(flow)));
  }

  public String stream() {
    return spec.stream;
  }

  /** The user's stages as one flow, as {@link #run} composes them; for tests of stage shapes. */
  Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> userStages() {
    return stages;
  }

  /** Live figures of this pipeline, kept across its runs. */
  public PipelineStats stats() {
    return spec.stats;
  }

  /** Starts the pipeline; it runs until {@link PipelineControl#drainAndStop()}, a failure, or the end of the stream. */
  public PipelineControl run(ActorSystem<?> system) {
    if (spec.target == null) {
      throw new TidemarkException(
          "pipeline '" + spec.stream + "': nothing to watch: call collection(database, collection) or database(database)");
    }
    if (spec.checkpoints == null) {
      throw new TidemarkException(
          "pipeline '" + spec.stream + "': no checkpoint store: call checkpoints(JdbcCheckpointStore.create(system))"
              + " or checkpoints(InMemoryCheckpointStore.create())");
    }
    MongoSettings mongo = MongoSettings.create(system);
    WindowSettings window = spec.windowSettings != null ? spec.windowSettings : WindowSettings.create(system);
    SourceSettings source = spec.sourceSettings != null ? spec.sourceSettings : SourceSettings.create(system);
    FailureSettings failure = spec.failureSettings != null ? spec.failureSettings : FailureSettings.create(system);
    FaultSettings faults = spec.faultSettings != null ? spec.faultSettings : FaultSettings.create(system);
    SnapshotSettings configuredSnapshots = spec.snapshotSettings != null ? spec.snapshotSettings : SnapshotSettings.create(system);
    SnapshotSettings snapshots = spec.startup != null ? configuredSnapshots.withMode(spec.startup) : configuredSnapshots;
    checkSnapshots(snapshots, faults);
    int parallelism = spec.parallelism != null
        ? spec.parallelism
        : ConfigCheck.positiveInt(system.settings().config(), "tidemark.pipeline.parallelism");
    if (failure.policy == FailurePolicy.DEAD_LETTER && spec.deadLetters == null) {
      throw new TidemarkException(
          "pipeline '" + spec.stream + "': the dead-letter policy needs a store: call deadLetters(MongoDeadLetterStore.create(client, database))");
    }
    String uri = spec.mongoClient != null ? null : (spec.mongoUri != null ? spec.mongoUri : mongo.uri);
    CommandFailures failures = new CommandFailures();
    MongoClient client = spec.mongoClient != null ? spec.mongoClient : MongoConnector.connect(uri, mongo.connectTimeout, failures);
    spec.stats.errorsFrom(failures::counts);
    String where = uri != null ? MongoConnector.redact(uri) : "the given client";
    CursorProbe probe = uri == null ? null : new CursorProbe(MongoConnector.connectSync(uri, mongo.connectTimeout), spec.target, spec.match);
    if (uri == null && faults.heartbeat) {
      log.info("stream '{}': no heartbeats with a client given by the caller (they need the URI); a quiet stream's checkpoint"
          + " follows only its own events", spec.stream);
    }
    PipelineRunner runner = new PipelineRunner(
        spec.stream, () -> runOnce(system, client, where, mongo, source, faults, snapshots, probe, window, parallelism, failure),
        failure, system, spec.stats);
    OplogSettings oplog = OplogSettings.create(system);
    Cancellable monitoring = oplog.enabled
        ? new OplogMonitor(spec.stream, client, oplog, this::checkpointTime, spec.stats::onOplogSample).start(system)
        : null;
    runner.completion().whenComplete((done, error) -> {
      if (monitoring != null) monitoring.cancel();
      if (spec.mongoClient == null) client.close();
      if (probe != null) probe.close();
      if (error != null) log.error("stream '{}' stopped: {}", spec.stream, Errors.summary(error));
    });
    log.info("stream '{}': watching {} on {} (window {}, checkpoint every {} events or {} ms, parallelism {}, on failure {}, startup {})",
        spec.stream, spec.target, where, window.size, window.checkpointEveryEvents, window.checkpointEveryInterval.toMillis(),
        parallelism, failure.policy.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), snapshots.mode.label());
    PipelineControl control = new PipelineControl(spec.stream, runner, spec.stats);
    RunningPipelines.get(system).started(control);
    runner.completion().whenComplete((done, error) -> RunningPipelines.get(system).stopped(control, error));
    runner.start();
    return control;
  }

  /** One run: open the stream's checkpoint record, materialize the graph, release the record at the end. */
  private Pair<UniqueKillSwitch, CompletionStage<Done>> runOnce(
      ActorSystem<?> system, MongoClient client, String where, MongoSettings mongo, SourceSettings source,
      FaultSettings faults, SnapshotSettings snapshots, CursorProbe probe, WindowSettings window, int parallelism,
      FailureSettings failure) {
    spec.stats.window().startRun();
    RunContext run = new RunContext(spec.stream, failure, spec.deadLetters, spec.stats);
    CompletableFuture<StreamCheckpoints> opened = spec.checkpoints.open(spec.stream).toCompletableFuture();
    CompletableFuture<Long> epoch = new CompletableFuture<>();
    Function<Checkpoint, CompletionStage<Done>> save =
        checkpoint -> opened.thenCompose(record -> epoch.thenCompose(taken -> record.save(checkpoint, taken)));
    PipelineRecovery recovery =
        new PipelineRecovery(spec.stream, client, where, mongo.connectTimeout, faults, opened, epoch, spec.stats);
    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        PipelineGraph.create(
                ChangeStreamSource.create(new ChangeStreamSource.Definition(
                    spec.stream, client, spec.target, spec.match, spec.fullDocument, source, faults,
                    () -> initialPosition(system, client, where, mongo, opened, epoch, faults, snapshots, recovery, probe),
                    PipelineBuilder::restartable, recovery, faults.heartbeat ? probe : null, snapshots, spec.stats.snapshot())),
                window, parallelism, stages, save, spec.stats.window(), run)
            .run(system);
    Cancellable publishing = spec.replica == null ? null : publishSafeTokens(system, epoch);
    CompletionStage<Done> ended =
        running.second().handle((done, error) -> {
          if (publishing != null) publishing.cancel();
          opened.thenAccept(StreamCheckpoints::close);
          Checkpoint last = spec.stats.window().lastSaved();
          String at = last == null ? "none written" : last.position().describe();
          if (error == null) {
            log.info("stream '{}' stopped; last checkpoint: {}", spec.stream, at);
            return CompletableFuture.completedFuture(Done.getInstance());
          }
          Throwable explained = Faults.explain(spec.stream, Errors.unwrap(error), faults);
          log.warn("stream '{}' run failed: {}; last checkpoint: {}", spec.stream, Errors.summary(explained), at);
          return CompletableFuture.<Done>failedFuture(explained);
        }).thenCompose(result -> result);
    return Pair.create(running.first(), ended);
  }

  private CompletionStage<ResumePosition> initialPosition(
      ActorSystem<?> system, MongoClient client, String where, MongoSettings mongo, CompletableFuture<StreamCheckpoints> opened,
      CompletableFuture<Long> epoch, FaultSettings faults, SnapshotSettings snapshots, PipelineRecovery recovery, CursorProbe probe) {
    return MongoConnector.ping(client, where, mongo.connectTimeout)
        .thenCompose(pong -> resolvePosition(pong, opened, epoch, faults, snapshots, recovery))
        // A snapshot-only stream never opens the change stream: whether its time is still in the oplog does not matter.
        .thenCompose(start -> start.checked() && snapshots.mode != StartupMode.SNAPSHOT_ONLY
            ? validated(system, start.position(), probe, faults, recovery)
            : CompletableFuture.completedFuture(start.position()))
        .thenApply(position -> {
          spec.stats.markStarted(position);
          return position;
        });
  }

  /**
   * Checks the position before the pipeline starts from it: opens a cursor there and reads a
   * batch. When the server says the position is lost or its token invalid, the policy decides
   * now (fail with a clear error, or record the gap and move on); any other trouble is left to the
   * stream, which opens the same cursor and retries.
   */
  private CompletionStage<ResumePosition> validated(
      ActorSystem<?> system, ResumePosition position, CursorProbe probe, FaultSettings faults, PipelineRecovery recovery) {
    if (probe == null) return CompletableFuture.completedFuture(position);
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    return CompletableFuture.runAsync(() -> probe.validate(position), blocking)
        .handle((ok, error) -> {
          if (error == null) return CompletableFuture.completedFuture(position);
          ResumableErrors.Kind kind = ResumableErrors.classify(error);
          if (kind == ResumableErrors.Kind.HISTORY_LOST || kind == ResumableErrors.Kind.INVALID_TOKEN) {
            log.warn("stream '{}': the server refuses the start position {}: {}", spec.stream, position.describe(),
                ResumableErrors.describe(error));
            return recovery.handles(kind)
                ? recovery.recoverAtStart(kind, error, position)
                : CompletableFuture.<ResumePosition>failedFuture(Faults.explain(spec.stream, Errors.unwrap(error), faults));
          }
          if (kind == ResumableErrors.Kind.NOT_A_REPLICA_SET) {
            return CompletableFuture.<ResumePosition>failedFuture(Faults.explain(spec.stream, Errors.unwrap(error), faults));
          }
          log.debug("stream '{}': could not check the start position ({}); the stream opens it itself", spec.stream,
              ResumableErrors.describe(error));
          return CompletableFuture.completedFuture(position);
        })
        .thenCompose(next -> next);
  }

  /** Refuses snapshot settings this pipeline cannot honour, naming the setting. */
  private void checkSnapshots(SnapshotSettings snapshots, FaultSettings faults) {
    boolean database = spec.target.collection() == null;
    if (snapshots.mode.snapshots() && database) {
      throw new TidemarkException("pipeline '" + spec.stream + "': startup " + snapshots.mode.label() + " copies one collection, but "
          + spec.target + " is a whole database: watch a collection (collection(database, collection)), one pipeline per"
          + " collection, or use startup stream-only");
    }
    if (database && (faults.onHistoryLost == FaultSettings.Restart.RE_SNAPSHOT || faults.onInvalidToken == FaultSettings.Restart.RE_SNAPSHOT)) {
      throw new TidemarkException("pipeline '" + spec.stream + "': the re-snapshot policy copies one collection, but " + spec.target
          + " is a whole database: watch a collection, or choose fail, restart-from-now or restart-from-oldest");
    }
    if (snapshots.mode.snapshots() && spec.configuredStart != null) {
      throw new TidemarkException("pipeline '" + spec.stream + "': startup " + snapshots.mode.label() + " starts at the snapshot's own"
          + " time, so it cannot also start at " + spec.configuredStart.describe() + ": drop one of them");
    }
  }

  /** The cluster time of the newest saved checkpoint, read out of its token when it has none of its own. */
  private BsonTimestamp checkpointTime() {
    Checkpoint saved = spec.stats.window().lastSaved();
    if (saved == null) return null;
    return saved.clusterTime() != null ? saved.clusterTime() : ResumeTokens.clusterTime(saved.resumeToken());
  }

  /** Where a run starts, and whether it is a position from before (which the server may no longer have) or just made. */
  private record Start(ResumePosition position, boolean checked) {
    static Start stored(ResumePosition position) {
      return new Start(position, true);
    }

    static Start fresh(ResumePosition position) {
      return new Start(position, false);
    }
  }

  /**
   * Publishes this run's safe position to the replica whenever it has moved, every replica
   * interval, with its kind (an invalidate must be resumed with startAfter). Only positions with a
   * token, and none while a gap or a snapshot's end waits to be saved as itself before it.
   */
  private Cancellable publishSafeTokens(ActorSystem<?> system, CompletableFuture<Long> epoch) {
    java.time.Duration interval =
        ConfigCheck.positiveDuration(system.settings().config(), "tidemark.pipeline.checkpoint.replica-interval");
    ChangeEnvelope[] published = {null};
    return system.scheduler().scheduleAtFixedRate(interval, interval, () -> {
      ChangeEnvelope safe = spec.stats.window().replicable();
      Long taken = epoch.getNow(null);
      if (safe != null && taken != null && safe != published[0] && safe.resumeToken() != null) {
        published[0] = safe;
        spec.replica.publish(io.tidemark.window.SafeTokenWindow.checkpointAt(spec.stream, safe), taken);
      }
    }, system.executionContext());
  }

  /**
   * Takes this run's fencing epoch and finds where to start: the stored checkpoint (or the
   * replicated one when it is fresher and no older in epoch), else the configured position, else
   * now (saved at once).
   */
  private CompletionStage<Start> resolvePosition(
      Document pong, CompletableFuture<StreamCheckpoints> opened, CompletableFuture<Long> epoch, FaultSettings faults,
      SnapshotSettings snapshots, PipelineRecovery recovery) {
    return opened.thenCompose(StreamCheckpoints::acquire).thenCompose(acquired -> {
          epoch.complete(acquired.epoch());
          if (acquired.corruption() != null) {
            if (faults.onInvalidToken == FaultSettings.Restart.FAIL) return CompletableFuture.failedFuture(acquired.corruption());
            return recovery.recoverAtStart(ResumableErrors.Kind.INVALID_TOKEN, acquired.corruption(), null).thenApply(Start::fresh);
          }
          Optional<Checkpoint> stored = acquired.checkpoint();
          if (stored.isPresent() && stored.get().kind() == CheckpointKind.INVALIDATE && !faults.followCollection) {
            return CompletableFuture.failedFuture(new TidemarkException(
                "stream '" + spec.stream + "' ended at an invalidate (its collection was dropped or renamed; checkpoint saved "
                    + stored.get().savedAt() + "): set tidemark.pipeline.faults.follow-collection = on to go on with startAfter,"
                    + " or rewind or reset its checkpoint"));
          }
          return freshest(acquired).thenCompose(replicated -> replicated.isPresent()
              ? opened.thenCompose(record -> record.save(replicated.get(), acquired.epoch())).thenApply(saved -> {
                  Checkpoint checkpoint = replicated.get();
                  log.info("stream '{}': resuming from the replicated checkpoint, {} (fresher than the durable one; written under epoch {}; this consumer holds epoch {})",
                      spec.stream, checkpoint.position().describe(), checkpoint.epoch(), acquired.epoch());
                  return Start.stored(checkpoint.position());
                })
              : positionFromStore(pong, acquired, opened, snapshots));
        });
  }

  /**
   * The replicated checkpoint, when it can be trusted over the durable one: for this stream, with a
   * token, written by the consumer that held the stream just before this one (epoch e − 1: nobody
   * took an epoch in between, so no rewind or reset by hand happened after it), and newer than the
   * durable checkpoint.
   */
  private CompletionStage<Optional<Checkpoint>> freshest(Acquired acquired) {
    if (spec.replica == null) return CompletableFuture.completedFuture(Optional.empty());
    return spec.replica.read(spec.stream).thenApply(replicated -> replicated.filter(candidate -> trusted(spec.stream, candidate, acquired)));
  }

  /**
   * Whether a replicated checkpoint may be used over the stored one. A stream without a stored
   * checkpoint (new, or reset by hand) never starts from a replica.
   */
  static boolean trusted(String stream, Checkpoint replicated, Acquired acquired) {
    Optional<Checkpoint> stored = acquired.checkpoint();
    return replicated.stream().equals(stream)
        && replicated.resumeToken() != null
        && replicated.epoch() == acquired.epoch() - 1
        && stored.isPresent()
        && stored.get().isBefore(replicated);
  }

  private CompletionStage<Start> positionFromStore(
      Document pong, Acquired acquired, CompletableFuture<StreamCheckpoints> opened, SnapshotSettings snapshots) {
    Optional<Checkpoint> stored = acquired.checkpoint();
    if (stored.isPresent()) {
      Checkpoint checkpoint = stored.get();
      log.info("stream '{}': resuming from the stored checkpoint, {} (saved {}; this consumer holds epoch {})",
          spec.stream, checkpoint.position().describe(), checkpoint.savedAt(), acquired.epoch());
      return CompletableFuture.completedFuture(Start.stored(checkpoint.position()));
    }
    if (spec.configuredStart != null) {
      log.info("stream '{}': no stored checkpoint; starting at the configured position, {}", spec.stream, spec.configuredStart.describe());
      return CompletableFuture.completedFuture(Start.stored(spec.configuredStart));
    }
    BsonTimestamp now = operationTime(pong);
    if (snapshots.mode.snapshots()) {
      // The time is taken before the copy: every change after it comes from the stream, so none is missed.
      ResumePosition copy = ResumePosition.snapshot(now, null);
      String note = "snapshot started (" + snapshots.mode.label() + "): copying " + spec.target + " at Timestamp(" + now.getTime()
          + ", " + now.getInc() + ")";
      return opened.thenCompose(record -> record.save(Checkpoint.snapshot(spec.stream, now, null, note), acquired.epoch()))
          .thenApply(saved -> {
            log.info("stream '{}': no stored checkpoint; {} (saved as the first checkpoint)", spec.stream, copy.describe());
            return Start.fresh(copy);
          });
    }
    ResumePosition position = ResumePosition.startAtOperationTime(now);
    // Saved before the first event, so a crash before any checkpoint resumes here, not at a later "now".
    return opened.thenCompose(record -> record.save(Checkpoint.atOperationTime(spec.stream, now), acquired.epoch()))
        .thenApply(saved -> {
          log.info("stream '{}': no stored checkpoint; starting now, {} (saved as the first checkpoint)", spec.stream, position.describe());
          return Start.fresh(position);
        });
  }

  private BsonTimestamp operationTime(Document pong) {
    Object time = pong == null ? null : pong.get("operationTime");
    if (time instanceof BsonTimestamp timestamp) return timestamp;
    log.warn("stream '{}': the server reported no operationTime (not a replica set?); starting at the local clock", spec.stream);
    return new BsonTimestamp((int) Instant.now().getEpochSecond(), 0);
  }

  /** A user's flow over the pipeline's untyped elements: only the context matters to the pipeline. */
  @SuppressWarnings("unchecked")
  private static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, ?> widened(Flow<?, ?, ?> flow) {
    return (Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, ?>) flow;
  }

  private static boolean restartable(Throwable error) {
    return ResumableErrors.isResumable(error) || unwrap(error) instanceof CheckpointStoreUnavailableException;
  }

  private static Throwable unwrap(Throwable error) {
    return Errors.unwrap(error);
  }
}
