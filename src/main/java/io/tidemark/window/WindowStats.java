package io.tidemark.window;

import io.tidemark.checkpoint.Checkpoint;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Live figures of a pipeline's window, written by the window stage and read by anyone (progress
 * line, metrics). Cumulative over restarts of the same pipeline.
 */
public final class WindowStats {
  private final AtomicLong admitted = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong saves = new AtomicLong();
  private volatile int inFlight;
  private volatile long lastCompletedClusterTime;
  private volatile Checkpoint lastSaved;
  private volatile long lastSavedAtMillis;

  void onAdmitted(int inFlightNow) {
    admitted.incrementAndGet();
    inFlight = inFlightNow;
  }

  void onCompleted(long clusterTime, int inFlightNow) {
    completed.incrementAndGet();
    if (clusterTime > lastCompletedClusterTime) lastCompletedClusterTime = clusterTime;
    inFlight = inFlightNow;
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

  public int inFlight() {
    return inFlight;
  }

  /** {@code BsonTimestamp.getValue()} of the newest completed event's cluster time; 0 before the first. */
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
