package io.tidemark.pipeline;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.BidiShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.BidiFlow;
import akka.stream.javadsl.Flow;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import java.util.ArrayDeque;

/**
 * Runs a user's own {@code FlowWithContext} (added with {@code via}) under the one rule it must
 * keep: exactly one element out for each element in, in order, with its context passed through.
 * Map-like operators, {@code mapAsync}, and the context-passing flows of Alpakka connectors keep
 * it. Skipped, abandoned and failed elements go around the flow and rejoin in their place, so the
 * flow sees only values.
 *
 * <p>What breaks the rule is caught at the first element that shows it — a dropped element (the
 * next one comes out in its place), a repeated one (fan-out), another order, or a flow that ends
 * with elements inside — and stops the run with a message that names the stage, the event, and
 * the builder operator to use instead. When the flow itself fails, the element it was working on
 * fails in order, the elements after it are abandoned, and the flow's upstream keeps draining, so
 * nothing before or beside the failure is cut off mid-write.
 */
final class OneToOneGuard
    extends GraphStage<BidiShape<Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>>> {
  private final String name;
  private final Inlet<Pair<Object, EventContext>> in = Inlet.create("OneToOneGuard.in");
  private final Outlet<Pair<Object, EventContext>> toFlow = Outlet.create("OneToOneGuard.toFlow");
  private final Inlet<Pair<Object, EventContext>> fromFlow = Inlet.create("OneToOneGuard.fromFlow");
  private final Outlet<Pair<Object, EventContext>> out = Outlet.create("OneToOneGuard.out");
  private final BidiShape<Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>> shape =
      BidiShape.of(in, toFlow, fromFlow, out);

  private OneToOneGuard(String name) {
    this.name = name;
  }

  /** The flow, guarded; {@code name} says which stage it is in messages. */
  static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> guard(
      String name, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, ?> flow) {
    return BidiFlow.fromGraph(new OneToOneGuard(name)).join(flow.mapMaterializedValue(any -> NotUsed.getInstance()));
  }

  @Override
  public BidiShape<Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>, Pair<Object, EventContext>> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new GraphStageLogic(shape) {
      /**
       * In order: the contexts of elements inside the flow (their places) and elements going around it (pairs).
       * An element's own context marks its place: no object per element.
       */
      private final ArrayDeque<Object> order = new ArrayDeque<>();
      /** The contexts of the elements inside the flow whose output has not come yet, oldest first. */
      private final ArrayDeque<EventContext> awaited = new ArrayDeque<>();
      /**
       * The outputs that came (or stand in for a broken flow's), oldest first, not yet handed on: the places in
       * {@code order} are taken in the same order, so the oldest place left is the oldest output's.
       */
      private final ArrayDeque<Pair<Object, EventContext>> outputs = new ArrayDeque<>();
      private boolean flowAlive = true;
      /** See SafeTokenWindow's onEndStages: a completion issued from a handler can be lost in Akka 2.6; this one runs in its own pass. */
      private final akka.stream.stage.AsyncCallback<akka.Done> onEndFlow = createAsyncCallback(done -> {
        if (!isClosed(toFlow)) complete(toFlow);
      });
      /** The previous context that came out of the flow, to name a repeat. */
      private EventContext lastOut;
      /** A failure of the flow that no element inside it could carry: the next value carries it. */
      private Throwable unclaimedFailure;

      {
        setHandler(in, new AbstractInHandler() {
          @Override
          public void onPush() {
            Pair<Object, EventContext> element = grab(in);
            EventContext context = element.second();
            if (context.isValue() && unclaimedFailure != null) {
              order.add(Pair.create(null, context.failed(unclaimedFailure)));
              unclaimedFailure = null;
            } else if (!context.isValue()) {
              order.add(element);
            } else if (!flowAlive || context.run().abandoning()) {
              order.add(Pair.create(null, context.abandoned()));
            } else if (isClosed(toFlow)) {
              order.add(Pair.create(null, context.abandoned()));
              broken(new StageContractException(name + " stopped taking elements while the stream runs (it cancelled its"
                  + " input at event #" + context.seqNr() + "): a stage added with via(...) must take every element"));
              return;
            } else {
              order.add(context);
              awaited.add(context);
              push(toFlow, element);
            }
            drive();
          }

          @Override
          public void onUpstreamFinish() {
            if (flowAlive && !isClosed(toFlow)) complete(toFlow);
            drive();
          }
        });
        setHandler(toFlow, new AbstractOutHandler() {
          @Override
          public void onPull() {
            drive();
          }

          @Override
          public void onDownstreamFinish(Throwable cause) {
            // The flow stopped taking elements. A failure is reported as one; otherwise the next value
            // finds the flow closed. Either way the upstream keeps draining.
            if (!(cause instanceof akka.stream.SubscriptionWithCancelException.NonFailureCancellation)) broken(cause);
            else drive();
          }
        });
        setHandler(fromFlow, new AbstractInHandler() {
          @Override
          public void onPush() {
            Pair<Object, EventContext> element = grab(fromFlow);
            EventContext expected = awaited.peek();
            if (expected == null || expected != element.second()) {
              broken(violation(element.second()));
              return;
            }
            awaited.poll();
            lastOut = element.second();
            outputs.add(element);
            drive();
          }

          @Override
          public void onUpstreamFinish() {
            if (!awaited.isEmpty()) {
              broken(new StageContractException(name + " completed while events were still inside it (first: "
                  + firstInside() + "): a stage added with via(...) must emit one element per element"
                  + " and never end on its own (take, takeWhile, limit do)"));
              return;
            }
            flowAlive = false;
            drive();
          }

          @Override
          public void onUpstreamFailure(Throwable error) {
            broken(error);
          }
        });
        setHandler(out, new AbstractOutHandler() {
          @Override
          public void onPull() {
            drive();
          }
        });
      }

      private EventContext firstInside() {
        return awaited.peek();
      }

      private StageContractException violation(EventContext came) {
        EventContext expected = firstInside();
        String what;
        if (came == lastOut || (lastOut != null && came.envelope() == lastOut.envelope())) {
          what = "emitted a second element for event #" + came.seqNr() + " (fan-out): use mapConcat(...) on the pipeline builder";
        } else if (expected != null && came.seqNr() > expected.seqNr()) {
          what = "dropped the element of event #" + expected.seqNr() + " (filtered, or batched):"
              + " use filter(...) or grouped(...) on the pipeline builder";
        } else {
          what = "emitted event #" + came.seqNr() + " out of order (expected #"
              + (expected == null ? "none" : String.valueOf(expected.seqNr())) + "): stages must keep order"
              + " (mapAsyncUnordered does not; use mapAsync)";
        }
        return new StageContractException(name + " " + what);
      }

      /** The flow failed or broke its rule: what is inside it fails (the first) or is abandoned (the rest). */
      private void broken(Throwable error) {
        if (flowAlive) {
          flowAlive = false;
          onEndFlow.invoke(akka.Done.getInstance()); // broken() runs in fromFlow's handlers
          if (!isClosed(fromFlow)) cancel(fromFlow);
        }
        boolean claimed = false;
        for (EventContext context : awaited) {
          context.run().abandon(error);
          outputs.add(Pair.create(null, claimed ? context.abandoned() : context.failed(error)));
          claimed = true;
        }
        awaited.clear();
        if (!claimed) unclaimedFailure = error;
        drive();
      }

      @SuppressWarnings("unchecked")
      private void drive() {
        Object head = order.peek();
        if (isAvailable(out) && head != null && (!(head instanceof EventContext) || !outputs.isEmpty())) {
          order.poll();
          push(out, head instanceof EventContext ? outputs.poll() : (Pair<Object, EventContext>) head);
        }
        // Always ready for the flow's next output: it takes the place of an element already counted.
        if (flowAlive && !hasBeenPulled(fromFlow) && !isClosed(fromFlow)) pull(fromFlow);
        boolean flowReady = !flowAlive || isClosed(toFlow) || isAvailable(toFlow);
        if (flowReady && !hasBeenPulled(in) && !isClosed(in)) pull(in);
        if (isClosed(in) && order.isEmpty()) {
          if (unclaimedFailure != null) {
            failStage(unclaimedFailure);
          } else {
            completeStage();
          }
        }
      }
    };
  }
}
