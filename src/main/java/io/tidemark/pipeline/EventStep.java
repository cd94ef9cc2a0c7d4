package io.tidemark.pipeline;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.Flow;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.source.ChangeEnvelope;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One of the pipeline builder's per-event operators ({@code map}, {@code filter},
 * {@code mapConcat}, {@code mapAsync}, {@code handle}): applies the user's function to one
 * element at a time, in order, and emits its outputs — the last one with the element's context,
 * the ones before it marked as not last, and a skip when there are none — so that the window
 * knows when an event is done, whatever the function did with it.
 *
 * <p>One failure rule for every operator: under {@code dead-letter} an element whose function
 * fails is tried again {@code attempts} times with backoff, then recorded in the dead-letter
 * store and skipped; under {@code retry} and {@code stop} the failure travels on as a failed
 * element (the stage itself does not fail, so nothing behind or beside it is cut off mid-work)
 * and the run stops starting new work. Skipped, abandoned and failed elements pass untouched.
 */
final class EventStep extends GraphStage<FlowShape<Pair<Object, EventContext>, Pair<Object, EventContext>>> {
  private static final Logger log = LoggerFactory.getLogger(EventStep.class);
  private static final String RETRY = "retry";

  /** The user's function: its outputs for one element, now or later. */
  private sealed interface Work permits Sync, Async {}

  private record Sync(Function<Object, Iterable<?>> f) implements Work {}

  /** One output later; a null result means none (the element is done, nothing goes on). */
  private record Async(BiFunction<Object, EventContext, CompletionStage<?>> f) implements Work {}

  private final String name;
  private final Work work;
  private final Inlet<Pair<Object, EventContext>> in;
  private final Outlet<Pair<Object, EventContext>> out;
  private final FlowShape<Pair<Object, EventContext>, Pair<Object, EventContext>> shape;

  private EventStep(String name, Work work) {
    this.name = name;
    this.work = work;
    this.in = Inlet.create(name + ".in");
    this.out = Outlet.create(name + ".out");
    this.shape = FlowShape.of(in, out);
  }

  /** A step whose function returns all of an element's outputs at once (none, one or many). */
  static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> sync(String name, Function<Object, Iterable<?>> f) {
    return Flow.fromGraph(new EventStep(name, new Sync(f)));
  }

  /** A step whose function completes later with one output (or null: none). */
  static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> async(
      String name, BiFunction<Object, EventContext, CompletionStage<?>> f) {
    return Flow.fromGraph(new EventStep(name, new Async(f)));
  }

  @Override
  public FlowShape<Pair<Object, EventContext>, Pair<Object, EventContext>> shape() {
    return shape;
  }

  @Override
  public Attributes initialAttributes() {
    return Attributes.name(name);
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  /** The outputs of one element, in order: the last carries the element's context. */
  static List<Pair<Object, EventContext>> parts(Iterable<?> outputs, EventContext context) {
    Iterator<?> it = outputs.iterator();
    if (!it.hasNext()) return List.of(Pair.create(null, context.skipped()));
    Object first = it.next();
    if (!it.hasNext()) return List.of(Pair.create(first, context));
    List<Pair<Object, EventContext>> parts = new ArrayList<>();
    EventContext notLast = context.notLast();
    parts.add(Pair.create(first, notLast));
    while (it.hasNext()) {
      Object next = it.next();
      parts.add(Pair.create(next, it.hasNext() ? notLast : context));
    }
    return parts;
  }

  private final class Logic extends TimerGraphStageLogic {
    /** The element being worked on; null when idle. */
    private Pair<Object, EventContext> current;
    private int attempt;
    private final AsyncCallback<Pair<Object, Throwable>> onResult = createAsyncCallback(result -> {
      if (result.second() == null) succeeded(result.first());
      else failed(result.second());
    });
    private final AsyncCallback<Throwable> onRecorded = createAsyncCallback(this::deadLetterRecorded);

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          Pair<Object, EventContext> element = grab(in);
          EventContext context = element.second();
          if (!context.isValue()) {
            emitThenPull(element);
          } else if (context.run().abandoning()) {
            emitThenPull(Pair.create(null, context.abandoned()));
          } else {
            current = element;
            attempt = 1;
            start();
          }
        }

        @Override
        public void onUpstreamFinish() {
          if (current == null) complete(out);
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          pullIfIdle();
        }
      });
    }

    private void pullIfIdle() {
      if (current == null && !hasBeenPulled(in) && !isClosed(in)) pull(in);
    }

    private void emitThenPull(Pair<Object, EventContext> element) {
      emit(out, element, this::pullIfIdle);
    }

    private void start() {
      Object element = current.first();
      try {
        if (work instanceof Sync sync) {
          succeeded(sync.f().apply(element));
          return;
        }
        CompletionStage<?> stage = ((Async) work).f().apply(element, current.second());
        if (stage == null) throw new NullPointerException("the function returned no CompletionStage");
        if (stage instanceof CompletableFuture<?> future && future.isDone()) {
          Object result;
          try {
            result = future.join();
          } catch (RuntimeException e) {
            failed(e);
            return;
          }
          succeeded(result == null ? List.of() : List.of(result));
          return;
        }
        stage.whenComplete((result, error) -> onResult.invoke(Pair.create(result == null ? List.of() : List.of(result), error)));
      } catch (RuntimeException e) {
        failed(e);
      }
    }

    private void succeeded(Object outputs) {
      EventContext context = current.second();
      current = null;
      List<Pair<Object, EventContext>> parts = parts((Iterable<?>) outputs, context);
      finishWith(parts);
    }

    private void finishWith(List<Pair<Object, EventContext>> parts) {
      Runnable next = () -> {
        if (isClosed(in)) complete(out);
        else pullIfIdle();
      };
      if (parts.size() == 1) emit(out, parts.get(0), next::run);
      else emitMultiple(out, parts.iterator(), next::run);
    }

    private void failed(Throwable error) {
      Throwable cause = Errors.unwrap(error);
      EventContext context = current.second();
      RunContext run = context.run();
      FailureSettings failure = run.failure();
      if (failure.policy == FailurePolicy.DEAD_LETTER && !(cause instanceof FencedException) && !run.abandoning()) {
        if (attempt < failure.deadLetterAttempts) {
          attempt++;
          scheduleOnce(RETRY, failure.deadLetterBackoff);
          return;
        }
        if (run.deadLetters() == null) {
          fail(new TidemarkException("stream '" + run.stream() + "': the dead-letter policy needs a store", cause));
          return;
        }
        ChangeEnvelope envelopeOf = context.envelope();
        StreamMdc.warn(log, run.stream(), "stream '{}': event #{} ({} {}) failed {} times in {} ({}); recording it as a dead letter and going on",
            run.stream(), envelopeOf.seqNr(), envelopeOf.operationType(), envelopeOf.documentKey(), attempt, name, Errors.summary(cause));
        CompletionStage<?> recorded;
        try {
          recorded = run.deadLetters().record(DeadLetter.of(run.stream(), envelopeOf, cause, attempt));
        } catch (RuntimeException e) {
          recorded = CompletableFuture.failedFuture(e);
        }
        recorded.whenComplete((done, recordError) -> onRecorded.invoke(recordError));
        return;
      }
      fail(cause);
    }

    private void deadLetterRecorded(Throwable recordError) {
      EventContext context = current.second();
      if (recordError != null) {
        fail(new TidemarkException("stream '" + context.run().stream() + "': event #" + context.seqNr()
            + " could not be recorded as a dead letter (" + Errors.summary(Errors.unwrap(recordError)) + "); it is not skipped"));
        return;
      }
      context.run().stats().onDeadLetter();
      current = null;
      finishWith(List.of(Pair.create(null, context.skipped())));
    }

    /** The element fails: the run stops starting new work, and the failure travels to the window in order. */
    private void fail(Throwable cause) {
      EventContext context = current.second();
      context.run().abandon(cause);
      current = null;
      finishWith(List.of(Pair.create(null, context.failed(cause))));
    }

    @Override
    public void onTimer(Object key) {
      if (current != null) start();
    }
  }
}
