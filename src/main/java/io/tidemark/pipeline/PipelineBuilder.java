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

  private final PipelineSpec spec;
  /** The user's stages so far, over elements paired with their context; {@code T} is what they emit. */
  private final Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages;
  private final int stageCount;

  private PipelineBuilder(PipelineSpec spec, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> stages, int stageCount) {
    this.spec = spec;
    this.stages = stages;
    this.stageCount = stageCount;
  }

  static PipelineBuilder<ChangeEnvelope> start(String stream) {
    PipelineSpec spec = new PipelineSpec();
    spec.stream = stream;
    return new PipelineBuilder<>(spec, Flow.create(), 0);
  }

  private PipelineBuilder<T> with(Consumer<PipelineSpec> change) {
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
    return with(s -> s.target = ChangeStreamTarget.collection(database, collection).withOptionsOf(s.target));
  }

  /** Watch every collection of a database. */
  public PipelineBuilder<T> database(String database) {
    return with(s -> s.target = ChangeStreamTarget.database(database).withOptionsOf(s.target));
  }

  /** Watch every database of the deployment ({@code client.watch()}); narrow it with {@link #match}. */
  public PipelineBuilder<T> deployment() {
    return with(s -> s.target = ChangeStreamTarget.deployment().withOptionsOf(s.target));
  }

  /**
   * Ask for the document before each change (pre-images: MongoDB 6.0+, on collections created or
   * modified with {@code changeStreamPreAndPostImages}): {@code WHEN_AVAILABLE} or {@code REQUIRED}.
   * Call after choosing what to watch.
   */
  public PipelineBuilder<T> fullDocumentBeforeChange(com.mongodb.client.model.changestream.FullDocumentBeforeChange mode) {
    return with(s -> {
      if (s.target == null) {
        throw new TidemarkException("pipeline '" + s.stream + "': fullDocumentBeforeChange(...) needs what to watch first:"
            + " call collection(...), database(...) or deployment() before it");
      }
      s.target = s.target.withFullDocumentBeforeChange(mode);
    });
  }

  /**
   * Keep only the namespaces {@code namespaces} accepts (tested on {@code "<db>.<collection>"}, or
   * {@code "<db>"} for a database's own events): other events are done at once without reaching the
   * stages, and a snapshot copies only the accepted collections. Call after choosing what to watch
   * and before the stages.
   */
  public PipelineBuilder<T> namespaces(java.util.function.Predicate<String> namespaces) {
    Objects.requireNonNull(namespaces, "namespaces");
    if (stageCount > 0) {
      throw new TidemarkException("pipeline '" + spec.stream + "': namespaces(...) narrows what is watched: call it before the stages");
    }
    PipelineBuilder<T> narrowed = with(s -> {
      if (s.target == null) {
        throw new TidemarkException("pipeline '" + s.stream + "': namespaces(...) needs what to watch first:"
            + " call collection(...), database(...) or deployment() before it");
      }
      s.target = s.target.withNamespaces(namespaces);
    });
    return narrowed.then(EventStep.sync(stageName("namespaces"),
        element -> namespaces.test(((ChangeEnvelope) element).namespace()) ? java.util.Collections.singletonList(element) : List.of()));
  }

  /**
   * Show the expanded (DDL) events too: create, createIndexes, dropIndexes, modify, and drop and
   * rename with the collection's UUID (MongoDB 6.0+, {@code showExpandedEvents}). They carry no
   * document: sinks that write documents skip them. Call after choosing what to watch.
   */
  public PipelineBuilder<T> showExpandedEvents(boolean on) {
    return with(s -> {
      if (s.target == null) {
        throw new TidemarkException("pipeline '" + s.stream + "': showExpandedEvents(...) needs what to watch first:"
            + " call collection(...), database(...) or deployment() before it");
      }
      s.target = s.target.withShowExpandedEvents(on);
    });
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

  /**
   * Incremental snapshots on demand while the stream runs (the signal collection, chunk size, poll
   * interval); default from {@code tidemark.pipeline.incremental-snapshot} (off without a signal
   * collection). See docs/snapshot.md.
   */
  public PipelineBuilder<T> incrementalSnapshots(io.tidemark.source.IncrementalSnapshotSettings settings) {
    Objects.requireNonNull(settings, "settings");
    return with(s -> s.incrementalSnapshotSettings = settings);
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

  /** Starts the pipeline; it runs until {@link PipelineControl#drainAndStop()}, a failure, or the end of the stream. */
  public PipelineControl run(ActorSystem<?> system) {
    return PipelineRuns.start(spec, stages, PipelineSettings.resolve(spec, system), system);
  }

  /** A user's flow over the pipeline's untyped elements: only the context matters to the pipeline. */
  @SuppressWarnings("unchecked")
  private static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, ?> widened(Flow<?, ?, ?> flow) {
    return (Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, ?>) flow;
  }

}
