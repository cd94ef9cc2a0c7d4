package io.tidemark.source;

import java.util.concurrent.atomic.AtomicLong;

/**
 * What a stream's incremental snapshots have done: the request in progress (if any), its documents
 * copied and chunks done (counted from the request's start, across restarts), and, in this process,
 * the rows read, those dropped by the reconciliation and the requests completed. Read by the status
 * and the metrics.
 */
public final class IncrementalSnapshotProgress {
  private volatile String request;
  private volatile String collection;
  private volatile long copied;
  private volatile long chunks;
  private volatile boolean paused;
  /** How the last request ended: "complete" or "stopped"; null before one ended. */
  private volatile String ended;
  private final AtomicLong rowsRead = new AtomicLong();
  private final AtomicLong rowsDropped = new AtomicLong();
  private final AtomicLong rowsEmitted = new AtomicLong();
  private final AtomicLong completed = new AtomicLong();
  private final AtomicLong stopped = new AtomicLong();

  void started(SignalCollection.Request request) {
    this.request = request.id().isObjectId() ? request.id().asObjectId().getValue().toHexString() : request.id().toString();
    this.collection = request.namespace().getFullName();
    this.copied = request.copied();
    this.chunks = request.chunks();
    this.paused = request.paused();
  }

  void paused(boolean paused) {
    this.paused = paused;
  }

  void chunkRead(int rows, int kept) {
    rowsRead.addAndGet(rows);
    rowsDropped.addAndGet(rows - kept);
    rowsEmitted.addAndGet(kept);
  }

  void chunkDone(long copied, long chunks) {
    this.copied = copied;
    this.chunks = chunks;
  }

  void finished() {
    completed.incrementAndGet();
    end("complete");
  }

  void stoppedEarly() {
    stopped.incrementAndGet();
    end("stopped");
  }

  private void end(String how) {
    ended = how;
    paused = false;
    request = null;
  }

  /** The request in progress (its id), or null. */
  public String request() {
    return request;
  }

  /** The collection of the request in progress (or of the last one). */
  public String collection() {
    return collection;
  }

  /** Whether a request is in progress (paused or not). */
  public boolean running() {
    return request != null;
  }

  /** Whether the request in progress is paused. */
  public boolean paused() {
    return paused && request != null;
  }

  /**
   * The state for the status: {@code copying}, {@code paused}, or how the last request ended —
   * {@code complete}, {@code stopped} — or null before any.
   */
  public String state() {
    if (request != null) return paused ? "paused" : "copying";
    return ended;
  }

  /** Documents of the request in progress (or the last one) copied and done, since it started. */
  public long copied() {
    return copied;
  }

  /** Chunks of the request in progress (or the last one) done, since it started. */
  public long chunks() {
    return chunks;
  }

  /** Rows read by chunks in this process. */
  public long rowsRead() {
    return rowsRead.get();
  }

  /** Rows dropped in this process because a change event in their chunk's window touched their key. */
  public long rowsDropped() {
    return rowsDropped.get();
  }

  /** Rows handed on in this process. */
  public long rowsEmitted() {
    return rowsEmitted.get();
  }

  /** Requests completed in this process. */
  public long completed() {
    return completed.get();
  }

  /** Requests stopped (or otherwise ended before done) in this process. */
  public long stopped() {
    return stopped.get();
  }
}
