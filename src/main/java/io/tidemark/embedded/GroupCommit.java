package io.tidemark.embedded;

import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.LongConsumer;
import java.util.function.LongSupplier;
import java.util.function.Supplier;
import org.h2.mvstore.MVStore;

/**
 * Commits of the embedded server's store, so that a write and its oplog entry reach the data file
 * together or not at all, and, when {@code commitBeforeAck}, before the write is acknowledged.
 *
 * <p>Every write command runs under a shared lock; a commit takes the exclusive lock, so it
 * stores the store's state between writes, never in the middle of one (the store itself never
 * commits: its background writer and its commits on memory pressure are off, see
 * {@link EmbeddedMongo}). A writer that needs its write durable waits for a commit that started
 * after its write finished: the first to wait commits for everyone who finished before it took
 * the lock (group commit), the others wait for it. After each commit the oplog is told how far it
 * is committed, and shows change streams that much.
 */
final class GroupCommit {
  private final MVStore store;
  private final boolean commitBeforeAck;
  private final int compactEveryCommits;
  private final LongSupplier oplogNewest;
  private final LongConsumer oplogCommitted;
  private final LongConsumer storeCommitted;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private final AtomicLong finished = new AtomicLong();
  private final AtomicLong commits = new AtomicLong();
  private long durable; // guarded by this
  private boolean committing; // guarded by this
  private volatile java.util.concurrent.ScheduledExecutorService background;

  /**
   * @param oplogNewest the newest oplog entry's timestamp
   * @param oplogCommitted told, after each commit, the newest entry's timestamp that it covers
   * @param storeCommitted told, after each commit, the store's version it made
   */
  GroupCommit(MVStore store, boolean commitBeforeAck, int compactEveryCommits, LongSupplier oplogNewest, LongConsumer oplogCommitted,
      LongConsumer storeCommitted) {
    this.store = store;
    this.commitBeforeAck = commitBeforeAck;
    this.compactEveryCommits = compactEveryCommits;
    this.oplogNewest = oplogNewest;
    this.oplogCommitted = oplogCommitted;
    this.storeCommitted = storeCommitted;
  }

  /**
   * Runs a write (or anything that may write: a command), then, when writes are committed before
   * they are acknowledged, waits until a commit covers it — also when it failed part-way, since a
   * part may be written. Reentrant.
   */
  <T> T write(Supplier<T> work) {
    long ticket;
    lock.readLock().lock();
    try {
      return work.get();
    } finally {
      ticket = finished.incrementAndGet();
      lock.readLock().unlock();
      if (commitBeforeAck && lock.getReadHoldCount() == 0) awaitCommitted(ticket);
    }
  }

  /** Runs something that changes the store outside a command (opening a database), so that no commit sees it half-done. */
  <T> T change(Supplier<T> work) {
    lock.readLock().lock();
    try {
      return work.get();
    } finally {
      finished.incrementAndGet();
      lock.readLock().unlock();
    }
  }

  /** Waits until a commit covers the write that finished as number {@code ticket}; commits itself when no one else is. */
  private void awaitCommitted(long ticket) {
    synchronized (this) {
      while (durable < ticket && committing) {
        try {
          wait();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for a commit", e);
        }
      }
      if (durable >= ticket) return;
      committing = true;
    }
    long covered = 0;
    try {
      covered = commit();
    } finally {
      synchronized (this) {
        durable = Math.max(durable, covered);
        committing = false;
        notifyAll();
      }
    }
  }

  /** Commits everything written so far, if anything is; returns how many writes it covers. */
  long commit() {
    lock.writeLock().lock();
    try {
      long covered = finished.get();
      long newest = oplogNewest.getAsLong();
      if (store.hasUnsavedChanges()) {
        long version = store.commit();
        if (commits.incrementAndGet() % compactEveryCommits == 0 && store.compact(80, 8 << 20)) {
          version = Math.max(version, store.commit());
        }
        if (version > 0) storeCommitted.accept(version);
      }
      oplogCommitted.accept(newest);
      return covered;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Commits made so far. */
  long commits() {
    return commits.get();
  }

  /** When writes are not committed before they are acknowledged: commits every {@code interval}, until {@link #stop}. */
  void commitEvery(java.time.Duration interval) {
    java.util.concurrent.ScheduledExecutorService committer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(run -> {
      Thread thread = new Thread(run, "tidemark-embedded-commits");
      thread.setDaemon(true);
      return thread;
    });
    committer.scheduleWithFixedDelay(() -> {
      try {
        commit();
      } catch (RuntimeException e) {
        org.slf4j.LoggerFactory.getLogger(GroupCommit.class).error("embedded MongoDB: committing the store failed", e);
      }
    }, interval.toMillis(), interval.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    background = committer;
  }

  /** Stops the commits of {@link #commitEvery}. */
  void stop() {
    java.util.concurrent.ScheduledExecutorService committer = background;
    if (committer == null) return;
    committer.shutdownNow();
    try {
      committer.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Runs with no write in progress and none starting: closing the store. */
  void exclusively(Runnable work) {
    lock.writeLock().lock();
    try {
      work.run();
    } finally {
      lock.writeLock().unlock();
    }
  }
}
