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
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Turns what comes out of one ordered lane of user stages into completions for the window.
 *
 * <p>The user's {@code FlowWithContext} keeps order, so when an element with context #s comes out,
 * every event that went in before #s is done too: it was either processed or filtered out. This
 * stage remembers the sequence numbers that went in and, for each context that comes out, emits
 * the sequence numbers of all events up to it. When the user's stages complete after their input
 * ended, what is left was filtered out, and is done as well; when they complete earlier, what is
 * left is not marked done, and the window refuses to checkpoint past it.
 */
final class CompletionTracker
    extends GraphStage<BidiShape<ChangeEnvelope, Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, Long>> {

  private final Inlet<ChangeEnvelope> in = Inlet.create("CompletionTracker.in");
  private final Outlet<Pair<ChangeEnvelope, EventContext>> toUser = Outlet.create("CompletionTracker.toUser");
  private final Inlet<Pair<Object, EventContext>> fromUser = Inlet.create("CompletionTracker.fromUser");
  private final Outlet<Long> done = Outlet.create("CompletionTracker.done");
  private final BidiShape<ChangeEnvelope, Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, Long> shape =
      BidiShape.of(in, toUser, fromUser, done);

  static BidiFlow<ChangeEnvelope, Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, Long, NotUsed> create() {
    return BidiFlow.fromGraph(new CompletionTracker());
  }

  @Override
  public BidiShape<ChangeEnvelope, Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, Long> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      private final ArrayDeque<Long> entered = new ArrayDeque<>();

      {
        setHandler(
            in,
            new AbstractInHandler() {
              @Override
              public void onPush() {
                ChangeEnvelope envelope = grab(in);
                entered.addLast(envelope.seqNr());
                push(toUser, Pair.create(envelope, EventContext.of(envelope)));
              }

              @Override
              public void onUpstreamFinish() {
                complete(toUser);
              }
            });
        setHandler(
            toUser,
            new AbstractOutHandler() {
              @Override
              public void onPull() {
                pull(in);
              }

              @Override
              public void onDownstreamFinish(Throwable cause) {
                cancel(in, cause);
              }
            });
        setHandler(
            fromUser,
            new AbstractInHandler() {
              @Override
              public void onPush() {
                long seqNr = grab(fromUser).second().seqNr();
                Long first = entered.peekFirst();
                if (first == null || first > seqNr) {
                  // A repeated context (mapConcat emitting several elements per event) completes nothing new.
                  pull(fromUser);
                } else if (first == seqNr) {
                  // The common case: nothing was filtered before this event.
                  entered.pollFirst();
                  emit(done, first);
                } else {
                  List<Long> completed = new ArrayList<>();
                  while (!entered.isEmpty() && entered.peekFirst() <= seqNr) completed.add(entered.pollFirst());
                  emitMultiple(done, completed.iterator(), () -> pull(fromUser));
                }
              }

              @Override
              public void onUpstreamFinish() {
                if (!isClosed(in)) {
                  // The user's stages stopped before their input ended: what they hold is not done.
                  completeStage();
                  return;
                }
                List<Long> rest = new ArrayList<>(entered);
                entered.clear();
                emitMultiple(done, rest.iterator(), () -> completeStage());
              }
            });
        setHandler(
            done,
            new AbstractOutHandler() {
              @Override
              public void onPull() {
                if (!hasBeenPulled(fromUser) && !isClosed(fromUser)) pull(fromUser);
              }
            });
      }
    };
  }
}
