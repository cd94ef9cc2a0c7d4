package io.tidemark.source;

import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonTimestamp;

/**
 * Live figures of a stream's snapshots, kept across its runs: the copy in progress (documents read
 * out of the estimated total, rate, time left) and, once it is complete, the change events that
 * fell in the overlap — made while the copy ran, so possibly copied already and seen twice.
 */
public final class SnapshotProgress {
  private final AtomicLong documents = new AtomicLong();
  private final AtomicLong overlapEvents = new AtomicLong();
  private final AtomicLong snapshots = new AtomicLong();
  private volatile boolean running;
  private volatile BsonTimestamp at;
  private volatile long estimated = -1;
  /** Documents at or before the _id this run's copy went on after (a resumed snapshot). */
  private volatile long copiedBefore;
  private volatile long scannedThisRun;
  private volatile long startedNanos;
  private volatile long lastLogNanos;

  /** A copy starts (or goes on, after {@code copiedBefore} documents) at {@code at}. */
  void started(BsonTimestamp at, long estimated, long copiedBefore, boolean fresh) {
    this.at = at;
    this.estimated = estimated;
    this.copiedBefore = copiedBefore;
    this.scannedThisRun = 0;
    this.startedNanos = System.nanoTime();
    this.lastLogNanos = startedNanos;
    this.running = true;
    if (fresh) snapshots.incrementAndGet();
  }

  void onDocument() {
    documents.incrementAndGet();
    scannedThisRun++;
  }

  /** A batch of {@code count} documents copied elsewhere (by copy workers). */
  void onDocuments(int count) {
    documents.addAndGet(count);
    scannedThisRun += count;
  }

  void completed() {
    running = false;
  }

  void onOverlapEvent() {
    overlapEvents.incrementAndGet();
  }

  /** Whether a progress line is due; if so, the next one is due an interval from now. */
  boolean logDue(Duration interval) {
    long now = System.nanoTime();
    if (now - lastLogNanos < interval.toNanos()) return false;
    lastLogNanos = now;
    return true;
  }

  /** Whether a copy is running now. */
  public boolean running() {
    return running;
  }

  /** The operation time of the newest snapshot (its change stream starts there), or null before any. */
  public BsonTimestamp at() {
    return at;
  }

  /** Documents read by snapshots in this process (across runs and re-snapshots). */
  public long documents() {
    return documents.get();
  }

  /** Snapshots started from the first document in this process (a resumed one is not counted again). */
  public long snapshots() {
    return snapshots.get();
  }

  /** Change events after a snapshot whose time falls in its copy: possibly seen twice (copied, then as a change). */
  public long overlapEvents() {
    return overlapEvents.get();
  }

  /** The collection's estimated document count when the copy (re)started; -1 when not known. */
  public long estimated() {
    return estimated;
  }

  /** Documents of the current copy so far, counting those a previous run copied before it went on. */
  public long copied() {
    return copiedBefore + scannedThisRun;
  }

  /** Documents per second read by this run of the copy. */
  public double rate() {
    double seconds = (System.nanoTime() - startedNanos) / 1e9;
    return seconds <= 0 ? 0 : scannedThisRun / seconds;
  }

  /** Seconds until the copy is done at the current rate, or null when not known. */
  public Long etaSeconds() {
    double rate = rate();
    if (!running || estimated < 0 || rate <= 0) return null;
    return (long) Math.ceil(Math.max(0, estimated - copied()) / rate);
  }

  /** The progress line. */
  public String describe() {
    Long eta = etaSeconds();
    return String.format(Locale.ROOT, "%d of ~%s documents copied (%.0f%%), %.1f documents/s, ETA %s",
        copied(), estimated < 0 ? "?" : String.valueOf(estimated),
        estimated > 0 ? Math.min(100.0, 100.0 * copied() / estimated) : 0.0, rate(), eta == null ? "?" : eta + "s");
  }
}
