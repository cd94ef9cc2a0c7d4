package io.tidemark.pipeline;

import io.tidemark.StreamMdc;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Acquired;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.connection.MongoConnector;
import io.tidemark.source.CursorProbe;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.ResumableErrors;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.StartupMode;
import io.tidemark.Errors;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where one run starts, decided once at its beginning: it takes the run's lease (the fencing epoch)
 * and then, in order, the replicated checkpoint when it can be trusted, the stored checkpoint, the
 * configured position, or now (saved at once, before any event is read, so that a crash before the
 * first checkpoint resumes here and not at a later "now"). A stored position is checked against
 * the server before the run uses it: history lost or an invalid token meets its policy before any
 * event flows.
 */
final class StartPosition {
  private static final Logger log = LoggerFactory.getLogger(StartPosition.class);

  private final PipelineSpec spec;
  private final PipelineSettings settings;
  private final MongoClient client;
  private final String where;
  private final CursorProbe probe;
  private final PipelineStats stats;
  private final ActorSystem<?> system;

  StartPosition(
      PipelineSpec spec, PipelineSettings settings, MongoClient client, String where, CursorProbe probe, PipelineStats stats,
      ActorSystem<?> system) {
    this.spec = spec;
    this.settings = settings;
    this.client = client;
    this.where = where;
    this.probe = probe;
    this.stats = stats;
    this.system = system;
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
   * The run's start: pings the server, takes the lease from the opened record (completing
   * {@code lease}), resolves the position, and checks it.
   */
  CompletionStage<ResumePosition> resolve(
      CompletableFuture<StreamCheckpoints> opened, CompletableFuture<Lease> lease, PipelineRecovery recovery) {
    return MongoConnector.ping(client, where, settings.mongo().connectTimeout, spec.stream)
        .thenCompose(pong -> opened.thenCompose(record -> record.acquire().thenCompose(acquired -> {
          Lease taken = new Lease(record, acquired.epoch());
          lease.complete(taken);
          return decide(pong, acquired, taken, recovery);
        })))
        // A snapshot-only stream never opens the change stream: whether its time is still in the oplog does not matter.
        .thenCompose(start -> start.checked() && !settings.snapshotOnly()
            ? validated(start.position(), recovery)
            : CompletableFuture.completedFuture(start.position()))
        .thenApply(position -> {
          stats.markStarted(position);
          return position;
        });
  }

  private CompletionStage<Start> decide(Document pong, Acquired acquired, Lease lease, PipelineRecovery recovery) {
    FaultSettings faults = settings.faults();
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
        ? lease.save(replicated.get()).thenApply(saved -> {
            Checkpoint checkpoint = replicated.get();
            StreamMdc.info(log, spec.stream, "stream '{}': resuming from the replicated checkpoint, {} (fresher than the durable one; written under epoch {};"
                + " this consumer holds epoch {})", spec.stream, checkpoint.position().describe(), checkpoint.epoch(), acquired.epoch());
            return Start.stored(checkpoint.position());
          })
        : fromStore(pong, acquired, lease));
  }

  /** The replicated checkpoint, when {@link #trusted} over the stored one. */
  private CompletionStage<Optional<Checkpoint>> freshest(Acquired acquired) {
    if (spec.replica == null) return CompletableFuture.completedFuture(Optional.empty());
    return spec.replica.read(spec.stream).thenApply(replicated -> replicated.filter(candidate -> trusted(spec.stream, candidate, acquired)));
  }

  /**
   * Whether a replicated checkpoint may be used over the stored one: for this stream, with a token,
   * written by the consumer that held the stream just before this one (epoch e − 1: nobody took an
   * epoch in between, so no rewind or reset by hand happened after it), and newer than the stored
   * checkpoint. A stream without a stored checkpoint (new, or reset by hand) never starts from a replica.
   */
  static boolean trusted(String stream, Checkpoint replicated, Acquired acquired) {
    Optional<Checkpoint> stored = acquired.checkpoint();
    return replicated.stream().equals(stream)
        && replicated.resumeToken() != null
        && replicated.epoch() == acquired.epoch() - 1
        && stored.isPresent()
        && stored.get().isBefore(replicated);
  }

  private CompletionStage<Start> fromStore(Document pong, Acquired acquired, Lease lease) {
    Optional<Checkpoint> stored = acquired.checkpoint();
    if (stored.isPresent()) {
      Checkpoint checkpoint = stored.get();
      StreamMdc.info(log, spec.stream, "stream '{}': resuming from the stored checkpoint, {} (saved {}; this consumer holds epoch {})",
          spec.stream, checkpoint.position().describe(), checkpoint.savedAt(), acquired.epoch());
      return CompletableFuture.completedFuture(Start.stored(checkpoint.position()));
    }
    if (spec.configuredStart != null) {
      StreamMdc.info(log, spec.stream, "stream '{}': no stored checkpoint; starting at the configured position, {}", spec.stream, spec.configuredStart.describe());
      return CompletableFuture.completedFuture(Start.stored(spec.configuredStart));
    }
    BsonTimestamp now = operationTime(pong);
    StartupMode mode = settings.snapshots().mode;
    if (mode.snapshots()) {
      // The time is taken before the copy: every change after it comes from the stream, so none is missed.
      ResumePosition copy = ResumePosition.snapshot(now, null);
      String note = "snapshot started (" + mode.label() + "): copying " + spec.target + " at Timestamp(" + now.getTime()
          + ", " + now.getInc() + ")";
      return lease.save(Checkpoint.snapshot(spec.stream, now, null, note)).thenApply(saved -> {
        StreamMdc.info(log, spec.stream, "stream '{}': no stored checkpoint; {} (saved as the first checkpoint)", spec.stream, copy.describe());
        return Start.fresh(copy);
      });
    }
    ResumePosition position = ResumePosition.startAtOperationTime(now);
    // Saved before the first event, so a crash before any checkpoint resumes here, not at a later "now".
    return lease.save(Checkpoint.atOperationTime(spec.stream, now)).thenApply(saved -> {
      StreamMdc.info(log, spec.stream, "stream '{}': no stored checkpoint; starting now, {} (saved as the first checkpoint)", spec.stream, position.describe());
      return Start.fresh(position);
    });
  }

  private BsonTimestamp operationTime(Document pong) {
    Object time = pong == null ? null : pong.get("operationTime");
    if (time instanceof BsonTimestamp timestamp) return timestamp;
    StreamMdc.warn(log, spec.stream, "stream '{}': the server reported no operationTime (not a replica set?); starting at the local clock", spec.stream);
    return new BsonTimestamp((int) Instant.now().getEpochSecond(), 0);
  }

  /**
   * Checks the position before the pipeline starts from it: opens a cursor there and reads a
   * batch. When the server says the position is lost or its token invalid, the policy decides
   * now (fail with a clear error, or record the gap and move on); any other trouble is left to the
   * stream, which opens the same cursor and retries.
   */
  private CompletionStage<ResumePosition> validated(ResumePosition position, PipelineRecovery recovery) {
    if (probe == null) return CompletableFuture.completedFuture(position);
    FaultSettings faults = settings.faults();
    Executor blocking = system.dispatchers().lookup(DispatcherSelector.blocking());
    return CompletableFuture.runAsync(() -> probe.validate(position), blocking)
        .handle((ok, error) -> {
          if (error == null) return CompletableFuture.completedFuture(position);
          ResumableErrors.Kind kind = ResumableErrors.classify(error);
          if (kind == ResumableErrors.Kind.HISTORY_LOST || kind == ResumableErrors.Kind.INVALID_TOKEN) {
            StreamMdc.warn(log, spec.stream, "stream '{}': the server refuses the start position {}: {}", spec.stream, position.describe(),
                ResumableErrors.describe(error));
            return recovery.handles(kind)
                ? recovery.recoverAtStart(kind, error, position)
                : CompletableFuture.<ResumePosition>failedFuture(Faults.explain(spec.stream, Errors.unwrap(error), faults));
          }
          if (kind == ResumableErrors.Kind.NOT_A_REPLICA_SET) {
            return CompletableFuture.<ResumePosition>failedFuture(Faults.explain(spec.stream, Errors.unwrap(error), faults));
          }
          StreamMdc.debug(log, spec.stream, "stream '{}': could not check the start position ({}); the stream opens it itself", spec.stream,
              ResumableErrors.describe(error));
          return CompletableFuture.completedFuture(position);
        })
        .thenCompose(next -> next);
  }
}
