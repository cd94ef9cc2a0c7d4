package io.tidemark.source;

import java.util.ArrayList;
import java.util.List;
import org.bson.BsonDocument;

/**
 * The source's memory across restarts of one materialization. Positions are taken where an
 * element leaves the cursor (or the snapshot copy's operators), not where it is numbered: an element
 * past that point is delivered even when the stream fails right after, so a reopen starts after it
 * (neither repeating nor skipping it), whatever still holds it on its way (a copy's buffers, the
 * element the source holds while a heartbeat goes out).
 *
 * <p>One writer at a time: the source's stage (and the copy's operators, fused with it), or a
 * future's callback between openings and before a copy's end, whose result reaches the stage
 * through an asynchronous callback. So what is written per event is written with release stores,
 * not volatile stores with a full fence: a reader on another thread sees each value whole.
 */
final class SourceState {
  private static final java.lang.invoke.VarHandle LAST_TAKEN;
  private static final java.lang.invoke.VarHandle LAST_EVENT;
  private static final java.lang.invoke.VarHandle LAST_COPIED;
  private static final java.lang.invoke.VarHandle TAKEN;
  private static final java.lang.invoke.VarHandle ARRIVED;
  private static final java.lang.invoke.VarHandle LAST_DELIVERY_NANOS;

  static {
    try {
      var lookup = java.lang.invoke.MethodHandles.lookup();
      LAST_TAKEN = lookup.findVarHandle(SourceState.class, "lastTaken", ResumePosition.class);
      LAST_EVENT = lookup.findVarHandle(SourceState.class, "lastEvent", com.mongodb.client.model.changestream.ChangeStreamDocument.class);
      LAST_COPIED = lookup.findVarHandle(SourceState.class, "lastCopied", Incoming.Copied.class);
      TAKEN = lookup.findVarHandle(SourceState.class, "taken", long.class);
      ARRIVED = lookup.findVarHandle(SourceState.class, "arrived", long.class);
      LAST_DELIVERY_NANOS = lookup.findVarHandle(SourceState.class, "lastDeliveryNanos", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  volatile ResumePosition initial;
  /** The position after the newest element that left the reopening source; null before the first (see {@link #lastTaken()}). */
  private volatile ResumePosition lastTaken;
  /**
   * The newest change event that left the reopening source, when it is newer than {@link #lastTaken}: its position is
   * made from it only when asked for (a reopen, a heartbeat probe), not once per event.
   */
  private volatile com.mongodb.client.model.changestream.ChangeStreamDocument<org.bson.Document> lastEvent;
  /** The newest copied document that left the reopening source, likewise: its position is made only when asked for. */
  private volatile Incoming.Copied lastCopied;
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

  /** The newest heartbeat delivered, and how many elements had been taken when it was probed. */
  volatile BsonDocument lastHeartbeat;
  volatile long lastHeartbeatTaken = -1;

  ResumePosition current() {
    ResumePosition taken = lastTaken();
    return taken != null ? taken : initial;
  }

  /** The position after the newest element that left the reopening source; null before the first. */
  ResumePosition lastTaken() {
    var event = lastEvent; // read without changing anything: another thread may be taking the next element
    if (event != null) return ReopeningSource.positionAfter(event);
    var copied = lastCopied;
    return copied != null ? SnapshotCopy.positionAfter(copied) : lastTaken;
  }

  /** Forgets the elements taken: a policy moved the stream to a new initial position. */
  void restartAt(ResumePosition position) {
    initial = position;
    lastEvent = null;
    lastCopied = null;
    lastTaken = null;
  }

  /**
   * Where the next heartbeat probe resumes: after the newest heartbeat while no element has been
   * taken since it was probed, else after the newest element. A quiet stream's probes so follow the
   * oplog from heartbeat to heartbeat, even once its last event has fallen off the oplog.
   */
  ResumePosition probeFrom() {
    ResumePosition heartbeat = heartbeatSinceTaken();
    return heartbeat != null ? heartbeat : current();
  }

  /**
   * After the newest heartbeat, when no element has left the reopening source since it was probed
   * (so no event lies between the last one taken and it); null otherwise. A reopen of a quiet
   * stream goes on there: its last event may have left the oplog since.
   */
  ResumePosition heartbeatSinceTaken() {
    BsonDocument heartbeat = lastHeartbeat;
    return heartbeat != null && lastHeartbeatTaken == taken ? ResumePosition.resumeAfter(heartbeat) : null;
  }

  /** An element leaves the reopening source: a reopen goes on after {@code position} (null: where it was). */
  void took(ResumePosition position) {
    if (position != null) {
      LAST_TAKEN.setRelease(this, position);
      LAST_EVENT.setRelease(this, null);
      LAST_COPIED.setRelease(this, null);
    }
    TAKEN.setRelease(this, taken + 1);
  }

  /** An element reaches the numbering. */
  void arrived() {
    ARRIVED.setRelease(this, arrived + 1);
  }

  /** An element is numbered and handed on now: the stream is not quiet. */
  void delivered() {
    LAST_DELIVERY_NANOS.setRelease(this, System.nanoTime());
  }

  /**
   * A copied document with an {@code _id} leaves the reopening source: a reopen goes on after it (see
   * {@link SnapshotCopy#positionAfter}), a position made only when asked for, not once per document.
   */
  void tookCopied(Incoming.Copied copied) {
    LAST_COPIED.setRelease(this, copied);
    LAST_EVENT.setRelease(this, null);
    TAKEN.setRelease(this, taken + 1);
  }

  /**
   * A change event leaves the reopening source: a reopen goes on after it (see
   * {@link ReopeningSource#positionAfter}), or where it was for a fragment before a split event's last
   * or an event without a token. The position is made only when asked for.
   */
  void tookEvent(com.mongodb.client.model.changestream.ChangeStreamDocument<org.bson.Document> event) {
    if (ReopeningSource.hasPositionAfter(event)) LAST_EVENT.setRelease(this, event);
    TAKEN.setRelease(this, taken + 1);
  }
}
