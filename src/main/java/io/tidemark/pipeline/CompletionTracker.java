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
import java.util.ArrayDeque;
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
      private final ArrayDeque<Long> entered = new ArrayDeque<>();
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
            List<Completion> completed = stopped ? List.of() : completions(context);
            if (completed.isEmpty()) pull(fromUser);
            else if (completed.size() == 1) emit(done, completed.get(0), this::pullUnlessEnded);
            else emitMultiple(done, completed.iterator(), this::pullUnlessEnded);
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

      private List<Completion> completions(EventContext context) {
        long seqNr = context.seqNr();
        switch (context.kind()) {
          case ABANDONED:
            stopped = true;
            return List.of();
          case FAILED:
            stopped = true;
            return List.of(Completion.failed(seqNr, context.failure()));
          default:
            break;
        }
        Long first = entered.peekFirst();
        if (first == null || first > seqNr) return List.of(); // a part of an event already done cannot come after it
        if (first == seqNr) {
          if (!context.last()) return List.of();
          entered.pollFirst();
          return List.of(Completion.done(seqNr));
        }
        // A batch: the events before this one in the lane were joined into it.
        List<Completion> completed = new ArrayList<>();
        while (!entered.isEmpty() && entered.peekFirst() < seqNr) completed.add(Completion.done(entered.pollFirst()));
        if (context.last() && !entered.isEmpty() && entered.peekFirst() == seqNr) completed.add(Completion.done(entered.pollFirst()));
        return completed;
      }
    };
  }
}
