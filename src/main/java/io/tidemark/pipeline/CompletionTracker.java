package io.tidemark.pipeline;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.BidiShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.BidiFlow;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.window.Completion;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns what comes out of one lane of user stages into completions for the window.
 *
 * <p>Every event that goes in ends in exactly one <em>last</em> element (a value or a skip; see
 * {@link EventContext}), and the stages keep order. So when an element comes out, every event of
 * this lane that went in before its event is done (their last elements came out before it, or a
 * batch joined them into this one), and its own event is done when it is the last element. A
 * failed element reports the lane's failure; from then on nothing more of this lane is done
 * (the run replays it). An abandoned element completes nothing and ends the lane's completions
 * too: its event is not done, and an element behind it — a skip a filter made before the run
 * began stopping, say — must not imply that it is.
 */
final class CompletionTracker
    extends GraphStage<BidiShape<ChangeEnvelope, Pair<Object, EventContext>, Pair<Object, EventContext>, Completion>> {

  private final RunContext run;
  private final Inlet<ChangeEnvelope> in = Inlet.create("CompletionTracker.in");
  private final Outlet<Pair<Object, EventContext>> toUser = Outlet.create("CompletionTracker.toUser");
  private final Inlet<Pair<Object, EventContext>> fromUser = Inlet.create("CompletionTracker.fromUser");
  private final Outlet<Completion> done = Outlet.create("CompletionTracker.done");
  private final BidiShape<ChangeEnvelope, Pair<Object, EventContext>, Pair<Object, EventContext>, Completion> shape =
      BidiShape.of(in, toUser, fromUser, done);

  private CompletionTracker(RunContext run) {
    this.run = run;
  }

  static BidiFlow<ChangeEnvelope, Pair<Object, EventContext>, Pair<Object, EventContext>, Completion, NotUsed> create(RunContext run) {
    return BidiFlow.fromGraph(new CompletionTracker(run));
  }

  @Override
  public BidiShape<ChangeEnvelope, Pair<Object, EventContext>, Pair<Object, EventContext>, Completion> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      /** The sequence numbers that went in and are not done yet, oldest first (a ring: no boxing per event). */
      private final SeqNrs entered = new SeqNrs();
      /** A failed or abandoned element came out: nothing more of this lane is done in this run. */
      private boolean stopped;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            ChangeEnvelope envelope = grab(in);
            entered.addLast(envelope.seqNr());
            push(toUser, Pair.create(envelope, EventContext.of(envelope, run)));
          }

          @Override
          public void onUpstreamFinish() {
            complete(toUser);
          }
        });
        setHandler(toUser, new AbstractOutHandler() {
          @Override
          public void onPull() {
            pull(in);
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            cancel(in, cause);
          }
        });
        setHandler(fromUser, new AbstractInHandler() {
          @Override
          public void onPush() {
            EventContext context = grab(fromUser).second();
            Object completed = stopped ? null : completions(context);
            if (completed == null) pull(fromUser);
            else if (completed instanceof Completion one) {
              if (isAvailable(done)) {
                push(done, one);
                pull(fromUser);
              } else {
                emit(done, one, this::pullUnlessEnded);
              }
            } else {
              @SuppressWarnings("unchecked")
              List<Completion> many = (List<Completion>) completed;
              emitMultiple(done, many.iterator(), this::pullUnlessEnded);
            }
          }

          /** The stages may end while completions wait for the window's demand: they are handed over, then the stage ends. */
          private void pullUnlessEnded() {
            if (!isClosed(fromUser)) pull(fromUser);
          }

          @Override
          public void onUpstreamFinish() {
            // What is left never came out: abandoned, or the stages stopped before their input ended.
            // It is not done; the window refuses to end normally with events unfinished.
            completeStage();
          }
        });
        setHandler(done, new AbstractOutHandler() {
          @Override
          public void onPull() {
            if (!hasBeenPulled(fromUser) && !isClosed(fromUser)) pull(fromUser);
          }
        });
      }

      /** What the element completes: null (nothing), one {@link Completion}, or a list of them (a batch). */
      private Object completions(EventContext context) {
        long seqNr = context.seqNr();
        switch (context.kind()) {
          case ABANDONED:
            stopped = true;
            return null;
          case FAILED:
            stopped = true;
            return Completion.failed(seqNr, context.failure());
          default:
            break;
        }
        if (entered.isEmpty() || entered.first() > seqNr) return null; // a part of an event already done cannot come after it
        if (entered.first() == seqNr) {
          if (!context.last()) return null;
          entered.removeFirst();
          return Completion.done(seqNr);
        }
        // A batch: the events before this one in the lane were joined into it.
        List<Completion> completed = new ArrayList<>();
        while (!entered.isEmpty() && entered.first() < seqNr) completed.add(Completion.done(entered.removeFirst()));
        if (context.last() && !entered.isEmpty() && entered.first() == seqNr) completed.add(Completion.done(entered.removeFirst()));
        return completed;
      }
    };
  }

  /** A growable ring of sequence numbers, oldest first. */
  static final class SeqNrs {
    private long[] ring = new long[64];
    private int head;
    private int size;

    boolean isEmpty() {
      return size == 0;
    }

    long first() {
      if (size == 0) throw new java.util.NoSuchElementException();
      return ring[head];
    }

    void addLast(long seqNr) {
      if (size == ring.length) {
        long[] grown = new long[ring.length * 2];
        for (int i = 0; i < size; i++) grown[i] = ring[(head + i) & (ring.length - 1)];
        ring = grown;
        head = 0;
      }
      ring[(head + size) & (ring.length - 1)] = seqNr;
      size++;
    }

    long removeFirst() {
      long first = first();
      head = (head + 1) & (ring.length - 1);
      size--;
      return first;
    }
  }
}
