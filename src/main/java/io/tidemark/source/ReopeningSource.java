package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Errors;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import akka.stream.javadsl.RestartSource;

/**
 * The change stream as a source that reopens itself: opened at the initial position, or, after a
 * resumable error, with capped backoff after the last element that left it — so a restart neither
 * skips nor repeats. A fault a policy recovers from is handed to the {@link Recovery}, which says
 * where to reopen and what gap to record; following the collection, it reopens with
 * {@code startAfter} an invalidate.
 */
final class ReopeningSource {
  private static final Logger log = LoggerFactory.getLogger(ReopeningSource.class);

  private ReopeningSource() {}

  /** Where the stream opens, and the gap to emit first when a policy moved it there. */
  private record Opening(ResumePosition position, Incoming.Gap gap) {}

  static Source<Incoming, NotUsed> reopening(ChangeStreamSource.Definition definition, SourceState state, ChangeStreamSource.Opener opener) {
    var settings = definition.settings().restartSettings().withRestartOn(error -> decide(definition, state, error));
    akka.japi.function.Creator<Source<Incoming, ?>> open = () ->
        Source.fromMaterializer((materializer, attributes) -> Source.completionStageSource(position(definition, state).thenApply(opening -> {
              Source<Incoming, NotUsed> events = opening.position() instanceof ResumePosition.Snapshot snapshot
                  ? SnapshotCopy.copyThenStream(definition, state, snapshot, materializer, opener)
                  : streamFrom(definition, state, opening.position(), opener);
              if (opening.gap() == null) return events;
              return Source.<Incoming>single(opening.gap()).map(gap -> {
                state.took(null);
                return gap;
              }).concat(events);
            })))
            .mapMaterializedValue(future -> NotUsed.getInstance());
    // Following the collection, the stream reopens after it ends, which it only does after an invalidate.
    return definition.faults().followCollection && definition.snapshot().mode != StartupMode.SNAPSHOT_ONLY
        ? RestartSource.withBackoff(settings, open)
        : RestartSource.onFailuresWithBackoff(settings, open);
  }

  static Source<Incoming, NotUsed> streamFrom(ChangeStreamSource.Definition definition, SourceState state, ResumePosition position, ChangeStreamSource.Opener opener) {
    if (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY) {
      StreamMdc.info(log, definition.stream(), "stream '{}': the snapshot is complete (checkpoint at {}); snapshot-only: nothing more to do", definition.stream(),
          position.describe());
      return Source.empty();
    }
    return opener.open(position, pipeline(definition, state)).map(event -> {
      state.tookEvent(event);
      return (Incoming) new Incoming.Event(event);
    });
  }

  /** Where a reopen goes on after this event; null for a fragment of a split event (a reopen resends it from the first). */
  static ResumePosition positionAfter(ChangeStreamDocument<Document> event) {
    if (!hasPositionAfter(event)) return null;
    return "invalidate".equals(event.getOperationTypeString())
        ? ResumePosition.startAfter(event.getResumeToken())
        : ResumePosition.resumeAfter(event.getResumeToken());
  }

  /** Whether a reopen goes on after this event: not after a fragment before a split event's last, nor an event without a token. */
  static boolean hasPositionAfter(ChangeStreamDocument<Document> event) {
    if (event.getSplitEvent() != null && event.getSplitEvent().getFragment() < event.getSplitEvent().getOf()) return false;
    return event.getResumeToken() != null; // one without is refused when numbered, with a clear message
  }

  /** The stream's aggregation stages after {@code $changeStream}: skipped events left out, the user's stages, splitting. */
  static List<Bson> pipeline(ChangeStreamSource.Definition definition, SourceState state) {
    List<Bson> pipeline = new ArrayList<>();
    if (!state.excluded.isEmpty()) {
      pipeline.add(new Document("$match", new Document("_id", new Document("$nin", new ArrayList<>(state.excluded)))));
    }
    pipeline.addAll(definition.pipeline());
    if (definition.faults().onOversizeEvent == FaultSettings.Oversize.SPLIT) {
      pipeline.add(new Document("$changeStreamSplitLargeEvent", new Document()));
    }
    return pipeline;
  }

  /** Whether to reopen after a failure of the stream itself; says which it is. */
  static boolean decide(ChangeStreamSource.Definition definition, SourceState state, Throwable error) {
    ResumableErrors.Kind kind = ResumableErrors.classify(error);
    if (definition.restartable().test(error)) {
      StreamMdc.warn(log, definition.stream(), "stream '{}': {}; reopening the change stream with backoff", definition.stream(), ResumableErrors.describe(error));
      return true;
    }
    if (definition.recovery() != null && definition.recovery().handles(kind)) {
      state.pendingKind = kind;
      state.pendingError = error;
      return true;
    }
    StreamMdc.error(log, definition.stream(), "stream '{}': {}; not resumable, stopping", definition.stream(), ResumableErrors.describe(error));
    return false;
  }

  static CompletionStage<Opening> position(ChangeStreamSource.Definition definition, SourceState state) {
    if (state.pendingKind != null) {
      ResumableErrors.Kind kind = state.pendingKind;
      Throwable error = state.pendingError;
      state.pendingKind = null;
      state.pendingError = null;
      state.lastHeartbeat = null; // the stream goes on where the policy says, not after a heartbeat before the fault
      return definition.recovery().recover(kind, error, state.current()).thenApply(recovered -> {
        if (kind == ResumableErrors.Kind.TOO_LARGE) {
          BsonDocument oversize = ResumableErrors.oversizeToken(error);
          state.excluded.add(oversize);
          StreamMdc.warn(log, definition.stream(), "stream '{}': reopening at {} without the oversize event {}", definition.stream(),
              recovered.position().describe(), oversize.toJson());
        } else {
          state.restartAt(recovered.position());
        }
        return new Opening(recovered.position(), new Incoming.Gap(recovered.gapAt(), recovered.note()));
      });
    }
    ResumePosition heartbeat = state.heartbeatSinceTaken();
    if (heartbeat != null) {
      // Not after the last event: while the stream was quiet, other writes may have pushed it off the oplog (286).
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream after its newest heartbeat (no event since): {}",
          definition.stream(), heartbeat.describe());
      return CompletableFuture.completedFuture(new Opening(heartbeat, null));
    }
    ResumePosition taken = state.lastTaken();
    if (taken != null) {
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream after the last event it delivered: {}", definition.stream(), taken.describe());
      return CompletableFuture.completedFuture(new Opening(taken, null));
    }
    ResumePosition known = state.initial;
    if (known != null) {
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream at its initial position: {}", definition.stream(), known.describe());
      return CompletableFuture.completedFuture(new Opening(known, null));
    }
    return definition.initialPosition().get().thenApply(position -> {
      state.initial = position;
      return new Opening(position, null);
    });
  }
}
