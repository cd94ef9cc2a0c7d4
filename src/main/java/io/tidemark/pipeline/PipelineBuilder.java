package io.tidemark.pipeline;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.FlowWithContext;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.CheckpointStoreUnavailableException;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.ChangeStreamSource;
import io.tidemark.source.ChangeStreamTarget;
import io.tidemark.source.MongoConnector;
import io.tidemark.source.MongoSettings;
import io.tidemark.source.ResumableErrors;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.SafeTokenWindow;
import io.tidemark.window.WindowSettings;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
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
  private final FlowWithContext<ChangeEnvelope, EventContext, T, EventContext, NotUsed> stages;

  private PipelineBuilder(Spec spec, FlowWithContext<ChangeEnvelope, EventContext, T, EventContext, NotUsed> stages) {
    this.spec = spec;
    this.stages = stages;
  }

  static PipelineBuilder<ChangeEnvelope> start(String stream) {
    Spec spec = new Spec();
    spec.stream = stream;
    return new PipelineBuilder<>(spec, FlowWithContext.<ChangeEnvelope, EventContext>create());
  }

  private PipelineBuilder<T> with(Consumer<Spec> change) {
    return new PipelineBuilder<>(spec.with(change), stages);
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
   * Appends the user's stages. They must keep order and pass the context through (all
   * {@code FlowWithContext} operators do); filtering is allowed. An element leaving the last
   * stage marks its event, and every event before it, done.
   */
  public <R> PipelineBuilder<R> via(FlowWithContext<T, EventContext, R, EventContext, ?> next) {
    return new PipelineBuilder<>(spec, stages.via(next));
  }

  /** Shorthand for {@code via(FlowWithContext.create().mapAsync(1, f))}: one event at a time, in order. */
  public <R> PipelineBuilder<R> mapAsync(Function<T, CompletionStage<R>> f) {
    return via(FlowWithContext.<T, EventContext>create().mapAsync(1, f::apply));
  }

  public String stream() {
    return spec.stream;
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
    String uri = spec.mongoClient != null ? null : (spec.mongoUri != null ? spec.mongoUri : mongo.uri);
    MongoClient client = spec.mongoClient != null ? spec.mongoClient : MongoConnector.connect(uri, mongo.connectTimeout);
    String where = uri != null ? MongoConnector.redact(uri) : "the given client";

    CompletableFuture<StreamCheckpoints> opened = spec.checkpoints.open(spec.stream).toCompletableFuture();
    Function<Checkpoint, CompletionStage<Done>> save = checkpoint -> opened.thenCompose(record -> record.save(checkpoint));

    Flow<Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, NotUsed> userStages =
        stages.asFlow().map(out -> Pair.create((Object) out.first(), out.second()));
    Flow<ChangeEnvelope, Long, NotUsed> processing = CompletionTracker.create().join(userStages);

    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        ChangeStreamSource.create(
                spec.stream, client, spec.target, spec.match, spec.fullDocument, source,
                () -> initialPosition(client, where, mongo, opened),
                PipelineBuilder::restartable)
            .viaMat(KillSwitches.single(), Keep.right())
            .via(SafeTokenWindow.create(spec.stream, window, save, spec.stats.window()).join(processing))
            .toMat(Sink.ignore(), Keep.both())
            .run(system);

    CompletionStage<Done> completion =
        running
            .second()
            .whenComplete(
                (done, error) -> {
                  opened.thenAccept(StreamCheckpoints::close);
                  if (spec.mongoClient == null) client.close();
                  Checkpoint last = spec.stats.window().lastSaved();
                  String at = last == null ? "none written in this run" : last.position().describe();
                  if (error == null) {
                    log.info("stream '{}' stopped; last checkpoint: {}", spec.stream, at);
                  } else {
                    log.error("stream '{}' failed: {}; last checkpoint: {}", spec.stream, Errors.summary(error), at);
                  }
                });
    log.info("stream '{}': watching {} on {} (window {}, checkpoint every {} events or {} ms)",
        spec.stream, spec.target, where, window.size, window.checkpointEveryEvents, window.checkpointEveryInterval.toMillis());
    return new PipelineControl(spec.stream, running.first(), completion, spec.stats);
  }

  private CompletionStage<ResumePosition> initialPosition(
      MongoClient client, String where, MongoSettings mongo, CompletableFuture<StreamCheckpoints> opened) {
    return MongoConnector.ping(client, where, mongo.connectTimeout)
        .thenCompose(pong -> resolvePosition(pong, opened))
        .thenApply(position -> {
          spec.stats.markStarted(position);
          return position;
        });
  }

  private CompletionStage<ResumePosition> resolvePosition(Document pong, CompletableFuture<StreamCheckpoints> opened) {
    return opened.thenCompose(StreamCheckpoints::load).thenCompose(stored -> {
          if (stored.isPresent()) {
            Checkpoint checkpoint = stored.get();
            log.info("stream '{}': resuming from the stored checkpoint, {} (saved {})",
                spec.stream, checkpoint.position().describe(), checkpoint.savedAt());
            return CompletableFuture.completedFuture(checkpoint.position());
          }
          if (spec.configuredStart != null) {
            log.info("stream '{}': no stored checkpoint; starting at the configured position, {}", spec.stream, spec.configuredStart.describe());
            return CompletableFuture.completedFuture(spec.configuredStart);
          }
          BsonTimestamp now = operationTime(pong);
          ResumePosition position = ResumePosition.startAtOperationTime(now);
          // Saved before the first event, so a crash before any checkpoint resumes here, not at a later "now".
          return opened.thenCompose(record -> record.save(Checkpoint.atOperationTime(spec.stream, now))).thenApply(saved -> {
            log.info("stream '{}': no stored checkpoint; starting now, {} (saved as the first checkpoint)", spec.stream, position.describe());
            return position;
          });
        });
  }

  private BsonTimestamp operationTime(Document pong) {
    Object time = pong == null ? null : pong.get("operationTime");
    if (time instanceof BsonTimestamp timestamp) return timestamp;
    log.warn("stream '{}': the server reported no operationTime (not a replica set?); starting at the local clock", spec.stream);
    return new BsonTimestamp((int) Instant.now().getEpochSecond(), 0);
  }

  private static boolean restartable(Throwable error) {
    return ResumableErrors.isResumable(error) || unwrap(error) instanceof CheckpointStoreUnavailableException;
  }

  private static Throwable unwrap(Throwable error) {
    return Errors.unwrap(error);
  }
}
