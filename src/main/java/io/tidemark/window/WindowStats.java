package io.tidemark.window;

import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.BsonOrder;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.StreamElement;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Live figures of a pipeline's window, written by the window stage and read by anyone (progress
 * line, metrics). Cumulative over restarts of the same pipeline.
 *
 * <p>One writer: the window stage of the pipeline's current run (a run starts only once the one
 * before it has ended). So the figures written per event are release stores, not atomic
 * read-modify-writes or volatile stores with a full fence: a reader sees each value whole and in
 * order, a moment later at most.
 */
public final class WindowStats {
  private static final java.lang.invoke.VarHandle ADMITTED_THROUGH;
  private static final java.lang.invoke.VarHandle IN_FLIGHT;
  private static final java.lang.invoke.VarHandle LAST_COMPLETED_CLUSTER_TIME;
  private static final java.lang.invoke.VarHandle SAFE;
  private static final java.lang.invoke.VarHandle REPLICABLE;

  static {
    try {
      var lookup = java.lang.invoke.MethodHandles.lookup();
      ADMITTED_THROUGH = lookup.findVarHandle(WindowStats.class, "admittedThrough", long.class);
      IN_FLIGHT = lookup.findVarHandle(WindowStats.class, "inFlight", int.class);
      LAST_COMPLETED_CLUSTER_TIME = lookup.findVarHandle(WindowStats.class, "lastCompletedClusterTime", long.class);
      SAFE = lookup.findVarHandle(WindowStats.class, "safe", StreamElement.class);
      REPLICABLE = lookup.findVarHandle(WindowStats.class, "replicable", StreamElement.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final AtomicLong admitted = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong saves = new AtomicLong();
  private final AtomicLong replayed = new AtomicLong();
  private volatile long admittedThrough;
  private volatile long replayedThrough;
  /** The newest copied document's _id admitted, and the one a new run's copies count as replays up to. */
  private volatile org.bson.BsonValue admittedCopyThrough;
  private volatile org.bson.BsonValue replayedCopyThrough;
  private volatile StreamElement replicable;
  private volatile int inFlight;
  private volatile int capacity;
  private volatile long lastCompletedClusterTime;
  private volatile Checkpoint lastSaved;
  private volatile StreamElement safe;
  private volatile long lastSavedAtMillis;
  private volatile Consumer<CompletableFuture<List<InFlightEvent>>> snapshots;

  void onAdmitted(ChangeEnvelope envelope) {
    admitted.lazySet(admitted.get() + 1);
    if (envelope.isSnapshot() && !envelope.isIncrementalSnapshot()) {
      // Copies all stand at the snapshot's time: a copy is a replay when its _id was admitted before (copies go in _id order).
      org.bson.BsonValue id = envelope.documentKey().get("_id");
      org.bson.BsonValue before = replayedCopyThrough;
      if (before != null && BsonOrder.compare(id, before) <= 0) replayed.incrementAndGet();
      org.bson.BsonValue newest = admittedCopyThrough;
      if (newest == null || BsonOrder.compare(id, newest) > 0) admittedCopyThrough = id;
      return;
    }
    long clusterTime = envelope.clusterTime() == null ? 0 : envelope.clusterTime().getValue();
    if (clusterTime != 0 && clusterTime <= replayedThrough) replayed.incrementAndGet();
    if (clusterTime > admittedThrough) ADMITTED_THROUGH.setRelease(this, clusterTime);
  }

  /**
   * A new run of the pipeline begins (after a failing stage, or a new consumer in this process):
   * the events it admits up to the newest one admitted before are replays, and it has no safe
   * position yet. The window calls it when it starts, with its size.
   */
  void startRun(int capacity) {
    this.capacity = capacity;
    replayedThrough = admittedThrough;
    replayedCopyThrough = admittedCopyThrough;
    safe = null;
    replicable = null;
    inFlight = 0;
  }

  /**
   * Events admitted again after a restart in this process: at most the window plus the throttle
   * per restart. (A replay after a crash or a failover to another node is not seen here: the
   * process that admitted the events first is gone; {@code verify} counts those.)
   */
  public long replayed() {
    return replayed.get();
  }

  void onCompleted(long clusterTime) {
    completed.lazySet(completed.get() + 1);
    if (clusterTime > lastCompletedClusterTime) LAST_COMPLETED_CLUSTER_TIME.setRelease(this, clusterTime);
  }

  /** How many the window holds right now: events and markers admitted and not behind the safe position. */
  void onInFlight(int inFlightNow) {
    IN_FLIGHT.setRelease(this, inFlightNow);
  }

  void onQuietPosition(long clusterTime) {
    if (clusterTime > lastCompletedClusterTime) lastCompletedClusterTime = clusterTime;
  }

  void snapshotsFrom(Consumer<CompletableFuture<List<InFlightEvent>>> source) {
    snapshots = source;
  }

  void snapshotsGone(Consumer<CompletableFuture<List<InFlightEvent>>> source) {
    if (snapshots == source) snapshots = null;
  }

  /**
   * The events in flight right now, oldest first, taken inside the window stage; empty when the
   * pipeline is not running.
   */
  public CompletionStage<List<InFlightEvent>> inFlightEvents() {
    Consumer<CompletableFuture<List<InFlightEvent>>> source = snapshots;
    CompletableFuture<List<InFlightEvent>> result = new CompletableFuture<>();
    if (source == null) {
      result.complete(List.of());
    } else {
      source.accept(result);
    }
    return result;
  }

  /**
   * The safe position moved.
   *
   * @param replicable whether nothing that must be saved as itself first (a gap, a snapshot's end)
   *     is pending before it, so that a replica may carry it
   */
  void onSafe(StreamElement envelope, boolean replicable) {
    SAFE.setRelease(this, envelope);
    if (replicable) REPLICABLE.setRelease(this, envelope);
  }

  /** The newest safe position of this run (every event before it done), durable or not yet; null before the first. */
  public StreamElement safe() {
    return safe;
  }

  /**
   * The newest safe position of this run that a checkpoint replica may carry: no gap or snapshot
   * end before it waits to be saved as itself. Null before the first.
   */
  public StreamElement replicable() {
    return replicable;
  }

  void onSaved(Checkpoint checkpoint, long atMillis) {
    saves.incrementAndGet();
    lastSaved = checkpoint;
    lastSavedAtMillis = atMillis;
  }

  /** Events handed to the user's stages (replays after a restart count again). */
  public long admitted() {
    return admitted.get();
  }

  /** Events whose processing completed. */
  public long completed() {
    return completed.get();
  }

  /** Durable checkpoint writes. */
  public long saves() {
    return saves.get();
  }

  /** Events in the window right now (admitted, not behind the safe position), markers included. */
  public int inFlight() {
    return inFlight;
  }

  /**
   * The window's size N: the most events in flight at once ({@link #inFlight()} over it is how full
   * the window is); 0 before the window first starts.
   */
  public int capacity() {
    return capacity;
  }

  /**
   * {@code BsonTimestamp.getValue()} of the newest completed event's cluster time, or of the newest
   * heartbeat's when the stream is quiet; 0 before the first.
   */
  public long lastCompletedClusterTime() {
    return lastCompletedClusterTime;
  }

  /** Seconds since the epoch of the newest completed event's cluster time; 0 before the first. */
  public long lastCompletedClusterTimeSeconds() {
    return lastCompletedClusterTime >>> 32;
  }

  /** The newest durable checkpoint written by this pipeline, or null. */
  public Checkpoint lastSaved() {
    return lastSaved;
  }

  /** Wall-clock millis of the newest durable write, 0 before the first. */
  public long lastSavedAtMillis() {
    return lastSavedAtMillis;
  }
}
