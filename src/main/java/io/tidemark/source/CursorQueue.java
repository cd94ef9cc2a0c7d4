package io.tidemark.source;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.Consumer;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The open cursor's events, handed from the driver's threads to the source's stage through a ring
 * as large as the demand: the stage is woken once for what arrives while it is not already about
 * to look, not once per event. (Akka's {@code Source.fromPublisher}, under Alpakka's
 * {@code MongoSource}, sends the stream's actor one message per event, and the actor runs its
 * interpreter for each: that boundary alone cost more CPU per event than all of Tidemark's own
 * stages, docs/benchmarks.md.)
 *
 * <p>One producer (the publisher, whose signals are serial) and one consumer (the stage). The
 * stage asks for events as Akka's input buffers do — the demand at first, and again for what it
 * has taken once half of it is — so the publisher never has more outstanding than the ring holds;
 * one that sends more than asked fails the cursor with a clear error. A failure ends the cursor at
 * once, as it ends Akka's: the events not yet taken are dropped (the stage reopens after the last
 * one it took).
 */
final class CursorQueue<T> implements Subscriber<T> {
  private static final VarHandle TAIL;
  private static final VarHandle HEAD;
  private static final VarHandle WAKING;

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      TAIL = lookup.findVarHandle(CursorQueue.class, "tail", long.class);
      HEAD = lookup.findVarHandle(CursorQueue.class, "head", long.class);
      WAKING = lookup.findVarHandle(CursorQueue.class, "waking", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  private final Object[] ring;
  private final int mask;
  private final int demand;
  private final Consumer<CursorQueue<T>> wake;
  /** Events put in by the publisher (written by it alone). */
  private volatile long tail;
  /** Events taken out by the stage (written by it alone). */
  private volatile long head;
  /** 1 while a wake-up is on its way to the stage. */
  private volatile int waking;
  private volatile Subscription subscription;
  private volatile boolean cancelled;
  private volatile boolean completed;
  private volatile Throwable failure;
  /** Events asked for so far (the stage's alone). */
  private long requested;

  /**
   * @param demand events asked for at a time
   * @param wake called (on whatever thread signals) when there is something for the stage to look at and
   *     it was not already woken; the stage calls {@link #woken()} first thing when it looks
   */
  CursorQueue(int demand, Consumer<CursorQueue<T>> wake) {
    if (demand <= 0) throw new IllegalArgumentException("demand must be positive: " + demand);
    int size = Integer.highestOneBit(Math.max(1, demand - 1)) << 1;
    this.ring = new Object[Math.max(2, size)];
    this.mask = ring.length - 1;
    this.demand = demand;
    this.wake = wake;
  }

  // ---- the publisher's side ----------------------------------------------------------------------

  @Override
  public void onSubscribe(Subscription s) {
    if (subscription != null || cancelled) {
      s.cancel();
      return;
    }
    subscription = s;
    signal();
  }

  @Override
  public void onNext(T element) {
    long at = tail;
    if (at - head >= ring.length) {
      Subscription s = subscription;
      if (s != null) s.cancel();
      onError(new IllegalStateException("the change stream's publisher sent more events than were asked for (" + ring.length + ")"));
      return;
    }
    ring[(int) at & mask] = element;
    // A volatile store, not a release: it must not pass the read of waking below, or a wake-up could be lost.
    TAIL.setVolatile(this, at + 1);
    signal();
  }

  @Override
  public void onError(Throwable error) {
    failure = error;
    signal();
  }

  @Override
  public void onComplete() {
    completed = true;
    signal();
  }

  private void signal() {
    if (waking == 0 && WAKING.compareAndSet(this, 0, 1)) wake.accept(this);
  }

  // ---- the stage's side --------------------------------------------------------------------------

  /** The stage looks now: what arrives after this wakes it again. Asks for the first events once subscribed. */
  void woken() {
    WAKING.setVolatile(this, 0);
    if (requested == 0) requestMore();
  }

  /** The next event, or null when none is here yet or the publisher failed (what it sent and was not taken is dropped). */
  @SuppressWarnings("unchecked")
  T poll() {
    long at = head;
    if (at == tail || failure != null) return null;
    int slot = (int) at & mask;
    T element = (T) ring[slot];
    ring[slot] = null;
    HEAD.setRelease(this, at + 1); // the publisher reads it only after the request that follows, which orders it
    requestMore();
    return element;
  }

  /**
   * Whether the publisher failed (at once, as Akka's input boundary fails: the events it sent and were not taken are
   * dropped, and a reopen goes on after the last one taken), or completed and every event it sent was taken.
   */
  boolean ended() {
    return failure != null || (completed && head == tail);
  }

  /** Why the publisher failed; null when it completed (or has not ended). */
  Throwable failure() {
    return failure;
  }

  void cancel() {
    cancelled = true;
    Subscription s = subscription;
    if (s != null) s.cancel();
  }

  /** Asks for what was taken once half the demand is: never more outstanding than the ring holds. */
  private void requestMore() {
    Subscription s = subscription;
    if (s == null || cancelled) return;
    long outstanding = requested - head;
    if (requested == 0 || outstanding <= demand / 2) {
      long more = demand - outstanding;
      requested += more;
      s.request(more);
    }
  }
}
