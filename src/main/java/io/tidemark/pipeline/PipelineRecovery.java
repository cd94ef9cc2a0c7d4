package io.tidemark.pipeline;

import io.tidemark.StreamMdc;
import io.tidemark.connection.CommandTags;

import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.source.FaultSettings;
import io.tidemark.connection.MongoConnector;
import io.tidemark.source.Recovery;
import io.tidemark.source.Recovery.Recovered;
import io.tidemark.source.ResumableErrors;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.ResumeTokens;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The fault policies of one pipeline run: after a fault the stream cannot resume from, moves the
 * position on as the policy says — to now, to the oldest entry of the oplog, past an oversize
 * event, or to a fresh snapshot (re-snapshot: the collection is copied again, then streamed from
 * the copy's time) — and records the gap first: a {@link CheckpointKind#GAP} checkpoint whose note says what was
 * skipped, a WARN line, and a count. Never silently: with the policy {@code fail} it does nothing,
 * and the stream stops.
 */
final class PipelineRecovery implements Recovery {
  private static final Logger log = LoggerFactory.getLogger(PipelineRecovery.class);

  private final String stream;
  private final MongoClient client;
  private final String where;
  private final Duration timeout;
  private final FaultSettings faults;
  private final CompletableFuture<Lease> lease;
  private final PipelineStats stats;

  PipelineRecovery(
      String stream, MongoClient client, String where, Duration timeout, FaultSettings faults, CompletableFuture<Lease> lease,
      PipelineStats stats) {
    this.stream = stream;
    this.client = client;
    this.where = where;
    this.timeout = timeout;
    this.faults = faults;
    this.lease = lease;
    this.stats = stats;
  }

  @Override
  public boolean handles(ResumableErrors.Kind kind) {
    return switch (kind) {
      case HISTORY_LOST -> faults.onHistoryLost != FaultSettings.Restart.FAIL;
      case INVALID_TOKEN -> faults.onInvalidToken != FaultSettings.Restart.FAIL;
      case TOO_LARGE -> faults.onOversizeEvent == FaultSettings.Oversize.SKIP;
      default -> false;
    };
  }

  @Override
  public CompletionStage<Recovered> recover(ResumableErrors.Kind kind, Throwable error, ResumePosition lost) {
    String what = describe(kind, error);
    String from = lost == null ? "the stored position" : lost.describe();
    if (kind == ResumableErrors.Kind.TOO_LARGE) {
      // The stream reopens where it was, with the event filtered out by its _id: the events before it
      // in the failed batch are still delivered. The gap checkpoint is the skipped event's own token.
      BsonDocument token = ResumableErrors.oversizeToken(error);
      if (token == null) {
        return CompletableFuture.failedFuture(new TidemarkException(
            "stream '" + stream + "': an event over the size limit (BSONObjectTooLarge 10334) cannot be skipped: the error does not name"
                + " its _id (" + Errors.oneLine(error.getMessage()) + ")"));
      }
      String note = "skipped an event over the size limit (BSONObjectTooLarge 10334) after " + from + "; its token " + token.toJson();
      return CompletableFuture.completedFuture(noted(new Recovered(lost, lost, note), "on-oversize-event = skip"));
    }
    FaultSettings.Restart policy = kind == ResumableErrors.Kind.HISTORY_LOST ? faults.onHistoryLost : faults.onInvalidToken;
    String key = kind == ResumableErrors.Kind.HISTORY_LOST ? "on-history-lost" : "on-invalid-token";
    if (policy == FaultSettings.Restart.RE_SNAPSHOT) {
      // The copy starts at "now", inclusive: every change after the copy's time comes from the stream.
      return now().thenApply(time -> {
        ResumePosition position = ResumePosition.snapshot(time, null);
        String note = what + " at " + from + ": re-snapshot, copying the collection again and then streaming from "
            + ResumePosition.startAtOperationTime(time).describe() + "; the events in between are not replayed: the copy"
            + " holds their result (deletes in between are not seen)";
        return noted(new Recovered(position, position, note), key + " = re-snapshot");
      });
    }
    // From now: after the newest operation, which is part of the gap; from the oldest: at the oldest entry, inclusive.
    CompletionStage<BsonTimestamp> target = policy == FaultSettings.Restart.RESTART_FROM_OLDEST
        ? oldest()
        : now().thenApply(time -> new BsonTimestamp(time.getValue() + 1));
    return target.thenApply(time -> {
      ResumePosition position = ResumePosition.startAtOperationTime(time);
      String note = what + " at " + from + ": " + FaultSettings.label(policy) + ", from " + position.describe()
          + "; " + skipped(lost, time);
      return noted(new Recovered(position, position, note), key + " = " + FaultSettings.label(policy));
    });
  }

  /** What going on from {@code time} skips after the lost position: nothing when it is at or before it. */
  static String skipped(ResumePosition lost, BsonTimestamp time) {
    BsonTimestamp lostAt = lost == null ? null : lost.clusterTime();
    if (lostAt == null) return "the events between the lost position and Timestamp(" + time.getTime() + ", " + time.getInc() + ") are skipped";
    String at = "Timestamp(" + lostAt.getTime() + ", " + lostAt.getInc() + ")";
    if (time.compareTo(lostAt) <= 0) {
      return "nothing is skipped: that is at or before the lost position (" + at + "), so the events from it up to the lost"
          + " position are delivered again";
    }
    return "the events after " + at + " and before Timestamp(" + time.getTime() + ", " + time.getInc() + ") are skipped";
  }

  private Recovered noted(Recovered recovered, String policy) {
    StreamMdc.warn(log, stream, "stream '{}': {} ({}); the gap is recorded in the checkpoint history", stream, recovered.note(), policy);
    stats.onGap();
    return recovered;
  }

  /**
   * Recovers before the stream starts (the stored position was checked and refused, or does not
   * parse): nothing is in flight, so the gap checkpoint is saved at once, and the run starts there.
   */
  CompletionStage<ResumePosition> recoverAtStart(ResumableErrors.Kind kind, Throwable error, ResumePosition lost) {
    return recover(kind, error, lost).thenCompose(recovered -> {
      ResumePosition at = recovered.gapAt();
      Checkpoint gap;
      if (at instanceof ResumePosition.Snapshot copy) {
        // The gap itself says "copy again": a crash before the first copied document still copies.
        gap = Checkpoint.atOperationTime(stream, copy.at()).as(CheckpointKind.GAP, recovered.note()).withSnapshot(new BsonDocument());
      } else if (at instanceof ResumePosition.StartAtOperationTime time) {
        gap = Checkpoint.atOperationTime(stream, time.time()).as(CheckpointKind.GAP, recovered.note());
      } else {
        gap = Checkpoint.atToken(stream, tokenOf(at), null).as(CheckpointKind.GAP, recovered.note());
      }
      return lease.thenCompose(taken -> taken.save(gap)).thenApply(saved -> recovered.position());
    });
  }

  private static BsonDocument tokenOf(ResumePosition position) {
    if (position instanceof ResumePosition.ResumeAfter resume) return resume.token();
    if (position instanceof ResumePosition.StartAfter start) return start.token();
    throw new IllegalArgumentException("no token in " + position);
  }

  private CompletionStage<BsonTimestamp> now() {
    return MongoConnector.ping(client, where, timeout, stream).thenApply(pong ->
        pong != null && pong.get("operationTime") instanceof BsonTimestamp time
            ? time
            : new BsonTimestamp((int) Instant.now().getEpochSecond(), 0));
  }

  /** The time of the oldest entry the oplog still holds. */
  private CompletionStage<BsonTimestamp> oldest() {
    return MongoConnector.first(CommandTags.forStream(stream,
            client.getDatabase("local").getCollection("oplog.rs").find().sort(Sorts.ascending("$natural")).limit(1)))
        .thenCompose(first -> {
          BsonTimestamp ts = first == null ? null : first.get("ts", BsonTimestamp.class);
          if (ts == null) {
            return CompletableFuture.failedFuture(new TidemarkException(
                "stream '" + stream + "': restart-from-oldest needs to read local.oplog.rs, which is empty or not readable here"));
          }
          return CompletableFuture.completedFuture(ts);
        });
  }

  private static String describe(ResumableErrors.Kind kind, Throwable error) {
    Throwable cause = Errors.unwrap(error);
    if (kind == ResumableErrors.Kind.HISTORY_LOST) return "history lost (" + ResumableErrors.describe(cause) + ")";
    if (cause instanceof TidemarkException) return "unusable stored token (" + Errors.oneLine(cause.getMessage()) + ")";
    return "invalid resume token (" + ResumableErrors.describe(cause) + ")";
  }


}
