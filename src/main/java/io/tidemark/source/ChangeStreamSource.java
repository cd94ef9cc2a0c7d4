package io.tidemark.source;

import io.tidemark.connection.MongoConnector;

import akka.NotUsed;
import akka.stream.alpakka.mongodb.javadsl.MongoSource;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Errors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change stream of one target as a source of {@link ChangeEnvelope}s: Alpakka's
 * {@link MongoSource} over {@code watch()}, opened at the initial position and, after a resumable
 * error, reopened with capped backoff from the last token it delivered downstream — so a restart
 * neither skips nor repeats an event. Beyond that it:
 *
 * <ul>
 *   <li>hands faults it cannot resume from (history lost, an invalid token, an oversize event) to
 *       the {@link Recovery} when the policy allows, and reopens where it says; otherwise fails;
 *   <li>after an {@code invalidate} (the collection was dropped or renamed) ends, or, with
 *       {@code follow-collection}, reopens with {@code startAfter} the invalidate;
 *   <li>joins the fragments of a split event ({@code $changeStreamSplitLargeEvent}) into one;
 *   <li>when the stream is quiet, adds heartbeats: the server's postBatchResumeToken, so that a
 *       checkpoint can follow the oplog without events;
 *   <li>at a {@link ResumePosition.Snapshot} position, first copies the collection's documents in
 *       {@code _id} order ({@link SnapshotScan}), then a marker that the copy is complete, then
 *       opens the change stream at the snapshot's operation time (unless the startup mode is
 *       {@code snapshot-only}: then it ends). A failure during the copy goes on after the last
 *       {@code _id} delivered.
 * </ul>
 */
public final class ChangeStreamSource {
  private static final Logger log = LoggerFactory.getLogger(ChangeStreamSource.class);

  private ChangeStreamSource() {}

  /** Everything a change-stream source is made of. */
  public record Definition(
      String stream,
      MongoClient client,
      ChangeStreamTarget target,
      List<Bson> pipeline,
      FullDocument fullDocument,
      SourceSettings settings,
      FaultSettings faults,
      Supplier<CompletionStage<ResumePosition>> initialPosition,
      Predicate<Throwable> restartable,
      Recovery recovery,
      PositionProbe heartbeat,
      SnapshotSettings snapshot,
      SnapshotProgress progress) {}

  /** What arrives before numbering: an event of the stream, or a heartbeat probed while it was quiet. */
  private sealed interface Incoming {}

  private record Event(ChangeStreamDocument<Document> event) implements Incoming {}

  /** The server's position after {@code after}, probed when {@code takenWhenProbed} elements had left the reopening source. */
  private record Heartbeat(BsonDocument token, long takenWhenProbed) implements Incoming {}

  /** A gap a policy recorded, to go through the window in order with the events. */
  private record Gap(ResumePosition at, String note) implements Incoming {}

  /** A document a snapshot copied, of a collection with this shard key (null: not sharded). */
  private record Copied(Document document, ResumePosition.Snapshot snapshot, BsonDocument shardKey) implements Incoming {}

  /** The snapshot's last document is delivered; changes up to {@code until} were made while it ran. */
  private record Copy(ResumePosition.Snapshot snapshot, org.bson.BsonTimestamp until, String note) implements Incoming {}

  /** Where the stream opens, and the gap to emit first when a policy moved it there. */
  private record Opening(ResumePosition position, Gap gap) {}

  /**
   * The source's memory across restarts of one materialization. Positions are taken where an
   * element leaves the reopening source, not where it is numbered: an element past that point is
   * delivered even when the stream fails right after, so a reopen starts after it (neither
   * repeating nor skipping it), whatever still holds it on its way (the heartbeat merge).
   */
  private static final class State {
    volatile ResumePosition initial;
    /** The position after the newest element that left the reopening source; null before the first. */
    volatile ResumePosition lastTaken;
    volatile ResumableErrors.Kind pendingKind;
    volatile Throwable pendingError;
    /** Elements (other than heartbeats) that left the reopening source, and that were numbered. */
    volatile long taken;
    volatile long arrived;
    volatile long lastDeliveryNanos = System.nanoTime();
    /** After a snapshot: change events up to this time are counted as overlap; null when past it. */
    volatile org.bson.BsonTimestamp overlapUntil;
    long seqNr;
    final List<BsonDocument> fragments = new ArrayList<>();
    /** Oversize events skipped by policy: filtered out by _id whenever the stream reopens. */
    final List<BsonDocument> excluded = new java.util.concurrent.CopyOnWriteArrayList<>();

    ResumePosition current() {
      return lastTaken != null ? lastTaken : initial;
    }

    /** An element leaves the reopening source: a reopen goes on after {@code position} (null: where it was). */
    void took(ResumePosition position) {
      if (position != null) lastTaken = position;
      taken++;
    }
  }

  /** Opens the change stream at a position, with the stream's pipeline: Alpakka's MongoSource over watch(). */
  interface Opener {
    Source<ChangeStreamDocument<Document>, NotUsed> open(ResumePosition position, List<Bson> pipeline);
  }

  public static Source<ChangeEnvelope, NotUsed> create(Definition definition) {
    return create(definition, (position, pipeline) -> MongoSource.create(publisher(definition, position, pipeline)));
  }

  /** The source over any way of opening the stream (tests drive it with a made-up one). */
  static Source<ChangeEnvelope, NotUsed> create(Definition definition, Opener opener) {
    return Source.fromMaterializer(
            (materializer, attributes) -> {
              State state = new State();
              Source<Incoming, NotUsed> changes = reopening(definition, state, opener);
              Source<Incoming, NotUsed> incoming =
                  definition.heartbeat() == null || !definition.faults().heartbeat
                      || definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY
                      ? changes
                      : changes.merge(
                          heartbeats(definition, state, materializer.system().dispatchers().lookup("akka.actor.default-blocking-io-dispatcher")),
                          true);
              return incoming.mapConcat(arrived -> deliver(definition, state, arrived));
            })
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  private static Source<Incoming, NotUsed> reopening(Definition definition, State state, Opener opener) {
    var settings = definition.settings().restartSettings().withRestartOn(error -> decide(definition, state, error));
    akka.japi.function.Creator<Source<Incoming, ?>> open = () ->
        Source.fromMaterializer((materializer, attributes) -> Source.completionStageSource(position(definition, state).thenApply(opening -> {
              Source<Incoming, NotUsed> events = opening.position() instanceof ResumePosition.Snapshot snapshot
                  ? copyThenStream(definition, state, snapshot, materializer, opener)
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

  private static Source<Incoming, NotUsed> streamFrom(Definition definition, State state, ResumePosition position, Opener opener) {
    if (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY) {
      log.info("stream '{}': the snapshot is complete (checkpoint at {}); snapshot-only: nothing more to do", definition.stream(),
          position.describe());
      return Source.empty();
    }
    return opener.open(position, pipeline(definition, state)).map(event -> {
      state.took(positionAfter(event));
      return (Incoming) new Event(event);
    });
  }

  /** Where a reopen goes on after this event; null for a fragment of a split event (a reopen resends it from the first). */
  private static ResumePosition positionAfter(ChangeStreamDocument<Document> event) {
    if (event.getSplitEvent() != null && event.getSplitEvent().getFragment() < event.getSplitEvent().getOf()) return null;
    if (event.getResumeToken() == null) return null; // refused when numbered, with a clear message
    return "invalidate".equals(event.getOperationTypeString())
        ? ResumePosition.startAfter(event.getResumeToken())
        : ResumePosition.resumeAfter(event.getResumeToken());
  }

  /**
   * The documents still to copy, the marker that the copy is complete, then (unless snapshot-only)
   * the change stream from the snapshot's time, opened only once the copy is done.
   */
  private static Source<Incoming, NotUsed> copyThenStream(
      Definition definition, State state, ResumePosition.Snapshot snapshot, akka.stream.Materializer materializer, Opener opener) {
    ChangeStreamTarget target = definition.target();
    var collection = definition.client().getDatabase(target.database()).getCollection(target.collection());
    com.mongodb.MongoNamespace namespace = new com.mongodb.MongoNamespace(target.database(), target.collection());
    CompletionStage<Long> estimated = MongoConnector.first(collection.estimatedDocumentCount());
    CompletionStage<Long> before = snapshot.after() == null
        ? CompletableFuture.completedFuture(0L)
        : MongoConnector.first(collection.countDocuments(com.mongodb.client.model.Filters.lte("_id", snapshot.after())));
    CompletionStage<BsonDocument> shardKey = shardKey(definition, namespace);
    Source<Incoming, NotUsed> documents = Source.completionStageSource(estimated.thenCombine(before, (total, copied) -> {
          definition.progress().started(snapshot.at(), total == null ? -1 : total, copied == null ? 0 : copied, snapshot.after() == null);
          log.info("stream '{}': {} {}: {} ({} documents, estimated; {} copied before)", definition.stream(),
              snapshot.after() == null ? "copying" : "going on copying", namespace, snapshot.describe(), total, copied);
          return SnapshotScan.create(definition.stream(), definition.client(), target, snapshot.at(), snapshot.after(), definition.snapshot(),
              definition.progress(), materializer);
        }).thenCombine(shardKey, (scan, key) -> scan.map(document -> {
                Object id = document.get("_id");
                state.took(id == null ? null : ResumePosition.snapshot(snapshot.at(), document.toBsonDocument().get("_id")));
                return (Incoming) new Copied(document, snapshot, key);
              })))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    Source<Incoming, NotUsed> complete = Source.lazyCompletionStage(() -> MongoConnector.first(
                definition.client().getDatabase("admin").runCommand(new Document("ping", 1)))
            .thenApply(pong -> {
              org.bson.BsonTimestamp until = pong != null && pong.get("operationTime") instanceof org.bson.BsonTimestamp time ? time : null;
              SnapshotProgress progress = definition.progress();
              progress.completed();
              String note = "snapshot complete: " + progress.copied() + " documents of " + namespace + " copied; "
                  + (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY
                      ? "snapshot-only: the stream ends here" : "streaming from " + snapshot.stream().describe());
              log.info("stream '{}': {} ({})", definition.stream(), note, progress.describe());
              state.took(snapshot.stream());
              return (Incoming) new Copy(snapshot, until, note);
            }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    // concatLazy: plain concat would materialize and pull what follows at once, before the copy is done.
    Source<Incoming, NotUsed> copied = documents.concatLazy(complete);
    if (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY) return copied;
    return copied.concatLazy(Source.lazySource(() -> streamFrom(definition, state, snapshot.stream(), opener))
        .mapMaterializedValue(future -> NotUsed.getInstance()));
  }

  /** The stream's aggregation stages after {@code $changeStream}: skipped events left out, the user's stages, splitting. */
  private static List<Bson> pipeline(Definition definition, State state) {
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

  /**
   * The collection's shard key, from {@code config.collections}; null when it is not sharded (or
   * when that cannot be read: then copies are keyed by {@code _id} alone, which is said once).
   */
  private static CompletionStage<BsonDocument> shardKey(Definition definition, com.mongodb.MongoNamespace namespace) {
    return MongoConnector.first(definition.client().getDatabase("config").getCollection("collections", BsonDocument.class)
            .find(new Document("_id", namespace.getFullName())).first())
        .handle((entry, error) -> {
          if (error != null) {
            log.warn("stream '{}': could not read the shard key of {} from config.collections ({}); copied documents are keyed"
                + " by _id alone", definition.stream(), namespace, Errors.summary(Errors.unwrap(error)));
            return null;
          }
          return entry != null && entry.isDocument("key") && !entry.getBoolean("dropped", org.bson.BsonBoolean.FALSE).getValue()
              ? entry.getDocument("key")
              : null;
        });
  }

  private static ChangeStreamPublisher<Document> publisher(Definition definition, ResumePosition position, List<Bson> pipeline) {
    ChangeStreamPublisher<Document> publisher =
        definition.target()
            .watch(definition.client(), pipeline)
            .batchSize(definition.settings().batchSize)
            .maxAwaitTime(definition.settings().maxAwaitTime.toMillis(), TimeUnit.MILLISECONDS);
    if (definition.fullDocument() != null) publisher = publisher.fullDocument(definition.fullDocument());
    return position.applyTo(publisher);
  }

  /** Whether to reopen after a failure of the stream itself; says which it is. */
  private static boolean decide(Definition definition, State state, Throwable error) {
    ResumableErrors.Kind kind = ResumableErrors.classify(error);
    if (definition.restartable().test(error)) {
      log.warn("stream '{}': {}; reopening the change stream with backoff", definition.stream(), ResumableErrors.describe(error));
      return true;
    }
    if (definition.recovery() != null && definition.recovery().handles(kind)) {
      state.pendingKind = kind;
      state.pendingError = error;
      return true;
    }
    log.error("stream '{}': {}; not resumable, stopping", definition.stream(), ResumableErrors.describe(error));
    return false;
  }

  private static CompletionStage<Opening> position(Definition definition, State state) {
    if (state.pendingKind != null) {
      ResumableErrors.Kind kind = state.pendingKind;
      Throwable error = state.pendingError;
      state.pendingKind = null;
      state.pendingError = null;
      return definition.recovery().recover(kind, error, state.current()).thenApply(recovered -> {
        if (kind == ResumableErrors.Kind.TOO_LARGE) {
          BsonDocument oversize = ResumableErrors.oversizeToken(error);
          state.excluded.add(oversize);
          log.warn("stream '{}': reopening at {} without the oversize event {}", definition.stream(),
              recovered.position().describe(), oversize.toJson());
        } else {
          state.initial = recovered.position();
          state.lastTaken = null;
        }
        return new Opening(recovered.position(), new Gap(recovered.gapAt(), recovered.note()));
      });
    }
    ResumePosition taken = state.lastTaken;
    if (taken != null) {
      log.info("stream '{}': reopening the change stream after the last event it delivered: {}", definition.stream(), taken.describe());
      return CompletableFuture.completedFuture(new Opening(taken, null));
    }
    ResumePosition known = state.initial;
    if (known != null) {
      log.info("stream '{}': reopening the change stream at its initial position: {}", definition.stream(), known.describe());
      return CompletableFuture.completedFuture(new Opening(known, null));
    }
    return definition.initialPosition().get().thenApply(position -> {
      state.initial = position;
      return new Opening(position, null);
    });
  }

  /**
   * Numbers what arrived, joins fragments, and drops a heartbeat that anything may have overtaken.
   * A heartbeat is numbered as the event it follows: it takes no place of its own in the window.
   */
  private static List<ChangeEnvelope> deliver(Definition definition, State state, Incoming arrived) {
    if (arrived instanceof Heartbeat heartbeat) {
      // Only when nothing left the reopening source since the probe began, and nothing is still on its way.
      if (heartbeat.takenWhenProbed() != state.taken || state.arrived != state.taken) return List.of();
      return List.of(ChangeEnvelope.heartbeat(state.seqNr, heartbeat.token()));
    }
    state.arrived++;
    if (arrived instanceof Gap gap) {
      return List.of(ChangeEnvelope.gap(++state.seqNr, gap.at(), gap.note()));
    }
    if (arrived instanceof Copied copied) {
      ChangeEnvelope envelope = ChangeEnvelope.snapshot(++state.seqNr,
          new com.mongodb.MongoNamespace(definition.target().database(), definition.target().collection()),
          copied.snapshot().at(), copied.document(), copied.shardKey());
      state.lastDeliveryNanos = System.nanoTime();
      definition.progress().onDocument();
      return List.of(envelope);
    }
    if (arrived instanceof Copy copy) {
      state.overlapUntil = copy.until();
      state.lastDeliveryNanos = System.nanoTime();
      return List.of(ChangeEnvelope.snapshotComplete(++state.seqNr, copy.snapshot().at(), copy.note()));
    }
    ChangeStreamDocument<Document> event = ((Event) arrived).event();
    ChangeEnvelope envelope;
    if (event.getSplitEvent() != null) {
      if (event.getSplitEvent().getFragment() == 1) state.fragments.clear(); // a reopen resends from the first
      ChangeEnvelope fragment = ChangeEnvelope.of(state.seqNr + 1, event);
      state.fragments.add(fragment.eventDocument());
      if (event.getSplitEvent().getFragment() < event.getSplitEvent().getOf()) return List.of();
      envelope = ChangeEnvelope.fromEventDocument(++state.seqNr, joined(state.fragments));
      state.fragments.clear();
    } else {
      envelope = ChangeEnvelope.of(++state.seqNr, event);
    }
    state.lastDeliveryNanos = System.nanoTime();
    org.bson.BsonTimestamp overlap = state.overlapUntil;
    if (overlap != null) {
      if (envelope.clusterTime() != null && envelope.clusterTime().compareTo(overlap) <= 0) definition.progress().onOverlapEvent();
      else state.overlapUntil = null;
    }
    if ("invalidate".equals(envelope.operationType())) {
      log.warn("stream '{}': invalidated (the collection was dropped or renamed); {}", definition.stream(),
          definition.faults().followCollection
              ? "following the collection: reopening with startAfter the invalidate"
              : "the stream ends here and keeps its checkpoint (set tidemark.pipeline.faults.follow-collection = on to follow)");
    }
    return List.of(envelope);
  }

  /** The fragments of a split event as one event, with the last fragment's token. */
  private static BsonDocument joined(List<BsonDocument> fragments) {
    BsonDocument event = new BsonDocument();
    for (BsonDocument fragment : fragments) {
      fragment.forEach((field, value) -> {
        if (!"splitEvent".equals(field)) event.put(field, value);
      });
    }
    return event;
  }

  /** While the stream is quiet, the server's position after the last token, every heartbeat interval. */
  private static Source<Incoming, NotUsed> heartbeats(Definition definition, State state, Executor blocking) {
    Duration interval = definition.faults().heartbeatInterval;
    return Source.tick(interval, interval, NotUsed.getInstance())
        .filter(tick -> state.current() != null && !(state.current() instanceof ResumePosition.Snapshot)
            && System.nanoTime() - state.lastDeliveryNanos >= interval.toNanos())
        .mapAsync(1, tick -> {
          long taken = state.taken;
          ResumePosition after = state.current();
          List<Bson> pipeline = pipeline(definition, state);
          return CompletableFuture.supplyAsync(() -> probe(definition, after, pipeline), blocking)
              .thenApply(token -> token.map(t -> (Incoming) new Heartbeat(t, taken)));
        })
        .filter(Optional::isPresent)
        .map(Optional::get)
        .mapMaterializedValue(cancellable -> NotUsed.getInstance());
  }

  /**
   * The server's position after {@code after}, read with the same pipeline and options as the
   * stream itself (so it never passes an event the stream would deliver), when it moves past it.
   */
  private static Optional<BsonDocument> probe(Definition definition, ResumePosition after, List<Bson> pipeline) {
    try {
      Optional<BsonDocument> token = definition.heartbeat().positionAfter(after, pipeline, definition.fullDocument());
      return token.filter(t -> movesPast(t, after));
    } catch (RuntimeException e) {
      log.debug("stream '{}': heartbeat probe failed: {}", definition.stream(), Errors.summary(e));
      return Optional.empty();
    }
  }

  /** Whether a heartbeat token stands after the position (by cluster time; one at the same time may be before it). */
  static boolean movesPast(BsonDocument token, ResumePosition position) {
    org.bson.BsonTimestamp time = ResumeTokens.clusterTime(token);
    org.bson.BsonTimestamp at = position.clusterTime();
    return time != null && (at == null ? !(position instanceof ResumePosition.ResumeAfter resume && token.equals(resume.token()))
        : time.compareTo(at) > 0);
  }
}
