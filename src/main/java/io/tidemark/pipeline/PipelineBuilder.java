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

  private final String stream;
  private final String mongoUri;
  private final MongoClient mongoClient;
  private final ChangeStreamTarget target;
  private final List<Bson> match;
  private final FullDocument fullDocument;
  private final CheckpointStore checkpoints;
  private final ResumePosition configuredStart;
  private final WindowSettings windowSettings;
  private final SourceSettings sourceSettings;
  private final FlowWithContext<ChangeEnvelope, EventContext, T, EventContext, NotUsed> stages;
  private final PipelineStats stats;

  private PipelineBuilder(
      String stream,
      String mongoUri,
      MongoClient mongoClient,
      ChangeStreamTarget target,
      List<Bson> match,
      FullDocument fullDocument,
      CheckpointStore checkpoints,
      ResumePosition configuredStart,
      WindowSettings windowSettings,
      SourceSettings sourceSettings,
      FlowWithContext<ChangeEnvelope, EventContext, T, EventContext, NotUsed> stages,
      PipelineStats stats) {
    this.stream = stream;
    this.mongoUri = mongoUri;
    this.mongoClient = mongoClient;
    this.target = target;
    this.match = match;
    this.fullDocument = fullDocument;
    this.checkpoints = checkpoints;
    this.configuredStart = configuredStart;
    this.windowSettings = windowSettings;
    this.sourceSettings = sourceSettings;
    this.stages = stages;
    this.stats = stats;
  }

  static PipelineBuilder<ChangeEnvelope> start(String stream) {
    return new PipelineBuilder<>(
        stream, null, null, null, List.of(), null, null, null, null, null,
        FlowWithContext.<ChangeEnvelope, EventContext>create(), new PipelineStats());
  }

  private PipelineBuilder<T> copy(
      String mongoUri,
      MongoClient mongoClient,
      ChangeStreamTarget target,
      List<Bson> match,
      FullDocument fullDocument,
      CheckpointStore checkpoints,
      ResumePosition configuredStart,
      WindowSettings windowSettings,
      SourceSettings sourceSettings) {
    return new PipelineBuilder<>(
        stream, mongoUri, mongoClient, target, match, fullDocument, checkpoints, configuredStart,
        windowSettings, sourceSettings, stages, stats);
  }

  /** Connect with this URI; the pipeline owns the client and closes it when it stops. */
  public PipelineBuilder<T> mongoUri(String uri) {
    MongoConnector.parse(uri);
    return copy(uri, null, target, match, fullDocument, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  /** Use a client the caller owns (and closes). */
  public PipelineBuilder<T> mongoClient(MongoClient client) {
    return copy(null, Objects.requireNonNull(client), target, match, fullDocument, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  public PipelineBuilder<T> collection(String database, String collection) {
    return copy(mongoUri, mongoClient, ChangeStreamTarget.collection(database, collection), match, fullDocument, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  /** Watch every collection of a database. */
  public PipelineBuilder<T> database(String database) {
    return copy(mongoUri, mongoClient, ChangeStreamTarget.database(database), match, fullDocument, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  /** Aggregation stages after {@code $changeStream}, such as {@code Aggregates.match(...)}; they must keep {@code _id}. */
  public PipelineBuilder<T> match(Bson... pipelineStages) {
    return copy(mongoUri, mongoClient, target, List.copyOf(Arrays.asList(pipelineStages)), fullDocument, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  public PipelineBuilder<T> fullDocument(FullDocument mode) {
    return copy(mongoUri, mongoClient, target, match, mode, checkpoints, configuredStart, windowSettings, sourceSettings);
  }

  public PipelineBuilder<T> checkpoints(CheckpointStore store) {
    return copy(mongoUri, mongoClient, target, match, fullDocument, Objects.requireNonNull(store), configuredStart, windowSettings, sourceSettings);
  }

  /** Where to start when the stream has no checkpoint yet (otherwise: now). */
  public PipelineBuilder<T> startAtOperationTime(BsonTimestamp time) {
    return copy(mongoUri, mongoClient, target, match, fullDocument, checkpoints, ResumePosition.startAtOperationTime(time), windowSettings, sourceSettings);
  }

  /** Start after this token when the stream has no checkpoint yet; also past an invalidate. */
  public PipelineBuilder<T> startAfter(BsonDocument token) {
    return copy(mongoUri, mongoClient, target, match, fullDocument, checkpoints, ResumePosition.startAfter(token), windowSettings, sourceSettings);
  }

  /** Window size and checkpoint throttle; defaults come from {@code tidemark.pipeline}. */
  public PipelineBuilder<T> windowSettings(WindowSettings settings) {
    return copy(mongoUri, mongoClient, target, match, fullDocument, checkpoints, configuredStart, settings, sourceSettings);
  }

  public PipelineBuilder<T> sourceSettings(SourceSettings settings) {
    return copy(mongoUri, mongoClient, target, match, fullDocument, checkpoints, configuredStart, windowSettings, settings);
  }

  /**
   * Appends the user's stages. They must keep order and pass the context through (all
   * {@code FlowWithContext} operators do); filtering is allowed. An element leaving the last
   * stage marks its event, and every event before it, done.
   */
  public <R> PipelineBuilder<R> via(FlowWithContext<T, EventContext, R, EventContext, ?> next) {
    return new PipelineBuilder<>(
        stream, mongoUri, mongoClient, target, match, fullDocument, checkpoints, configuredStart,
        windowSettings, sourceSettings, stages.via(next), stats);
  }

  /** Shorthand for {@code via(FlowWithContext.create().mapAsync(1, f))}: one event at a time, in order. */
  public <R> PipelineBuilder<R> mapAsync(Function<T, CompletionStage<R>> f) {
    return via(FlowWithContext.<T, EventContext>create().mapAsync(1, f::apply));
  }

  public String stream() {
    return stream;
  }

  /** Live figures of this pipeline, kept across its runs. */
  public PipelineStats stats() {
    return stats;
  }

  /** Starts the pipeline; it runs until {@link PipelineControl#drainAndStop()}, a failure, or the end of the stream. */
  public PipelineControl run(ActorSystem<?> system) {
    if (target == null) {
      throw new TidemarkException(
          "pipeline '" + stream + "': nothing to watch: call collection(database, collection) or database(database)");
    }
    if (checkpoints == null) {
      throw new TidemarkException(
          "pipeline '" + stream + "': no checkpoint store: call checkpoints(JdbcCheckpointStore.create(system))"
              + " or checkpoints(InMemoryCheckpointStore.create())");
    }
    MongoSettings mongo = MongoSettings.create(system);
    WindowSettings window = windowSettings != null ? windowSettings : WindowSettings.create(system);
    SourceSettings source = sourceSettings != null ? sourceSettings : SourceSettings.create(system);
    String uri = mongoClient != null ? null : (mongoUri != null ? mongoUri : mongo.uri);
    MongoClient client = mongoClient != null ? mongoClient : MongoConnector.connect(uri, mongo.connectTimeout);
    String where = uri != null ? MongoConnector.redact(uri) : "the given client";

    CompletableFuture<StreamCheckpoints> opened = checkpoints.open(stream).toCompletableFuture();
    Function<Checkpoint, CompletionStage<Done>> save = checkpoint -> opened.thenCompose(record -> record.save(checkpoint));

    Flow<Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, NotUsed> userStages =
        stages.asFlow().map(out -> Pair.create((Object) out.first(), out.second()));
    Flow<ChangeEnvelope, Long, NotUsed> processing = CompletionTracker.create().join(userStages);

    Pair<UniqueKillSwitch, CompletionStage<Done>> running =
        ChangeStreamSource.create(
                stream, client, target, match, fullDocument, source,
                () -> initialPosition(client, where, mongo, opened),
                PipelineBuilder::restartable)
            .viaMat(KillSwitches.single(), Keep.right())
            .via(SafeTokenWindow.create(stream, window, save, stats.window()).join(processing))
            .toMat(Sink.ignore(), Keep.both())
            .run(system);

    CompletionStage<Done> completion =
        running
            .second()
            .whenComplete(
                (done, error) -> {
                  opened.thenAccept(StreamCheckpoints::close);
                  if (mongoClient == null) client.close();
                  Checkpoint last = stats.window().lastSaved();
                  String at = last == null ? "none written in this run" : last.position().describe();
                  if (error == null) {
                    log.info("stream '{}' stopped; last checkpoint: {}", stream, at);
                  } else {
                    log.error("stream '{}' failed: {}; last checkpoint: {}", stream, Errors.summary(error), at);
                  }
                });
    log.info("stream '{}': watching {} on {} (window {}, checkpoint every {} events or {} ms)",
        stream, target, where, window.size, window.checkpointEveryEvents, window.checkpointEveryInterval.toMillis());
    return new PipelineControl(stream, running.first(), completion, stats);
  }

  private CompletionStage<ResumePosition> initialPosition(
      MongoClient client, String where, MongoSettings mongo, CompletableFuture<StreamCheckpoints> opened) {
    return MongoConnector.ping(client, where, mongo.connectTimeout)
        .thenCompose(pong -> resolvePosition(pong, opened))
        .thenApply(position -> {
          stats.markStarted(position);
          return position;
        });
  }

  private CompletionStage<ResumePosition> resolvePosition(Document pong, CompletableFuture<StreamCheckpoints> opened) {
    return opened.thenCompose(StreamCheckpoints::load).thenCompose(stored -> {
          if (stored.isPresent()) {
            Checkpoint checkpoint = stored.get();
            log.info("stream '{}': resuming from the stored checkpoint, {} (saved {})",
                stream, checkpoint.position().describe(), checkpoint.savedAt());
            return CompletableFuture.completedFuture(checkpoint.position());
          }
          if (configuredStart != null) {
            log.info("stream '{}': no stored checkpoint; starting at the configured position, {}", stream, configuredStart.describe());
            return CompletableFuture.completedFuture(configuredStart);
          }
          BsonTimestamp now = operationTime(pong);
          ResumePosition position = ResumePosition.startAtOperationTime(now);
          // Saved before the first event, so a crash before any checkpoint resumes here, not at a later "now".
          return opened.thenCompose(record -> record.save(Checkpoint.atOperationTime(stream, now))).thenApply(saved -> {
            log.info("stream '{}': no stored checkpoint; starting now, {} (saved as the first checkpoint)", stream, position.describe());
            return position;
          });
        });
  }

  private BsonTimestamp operationTime(Document pong) {
    Object time = pong == null ? null : pong.get("operationTime");
    if (time instanceof BsonTimestamp timestamp) return timestamp;
    log.warn("stream '{}': the server reported no operationTime (not a replica set?); starting at the local clock", stream);
    return new BsonTimestamp((int) Instant.now().getEpochSecond(), 0);
  }

  private static boolean restartable(Throwable error) {
    return ResumableErrors.isResumable(error) || unwrap(error) instanceof CheckpointStoreUnavailableException;
  }

  private static Throwable unwrap(Throwable error) {
    return Errors.unwrap(error);
  }
}
