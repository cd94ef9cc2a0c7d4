package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.stream.Attributes;
import akka.stream.Outlet;
import akka.stream.SourceShape;
import akka.stream.javadsl.Source;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Errors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change stream as one stage: it opens the stream at the initial position, or, after a
 * resumable error, reopens it with capped backoff after the last element that left it — so a
 * restart neither skips nor repeats. A fault a policy recovers from is handed to the
 * {@link Recovery}, which says where to reopen and what gap to record; following the collection,
 * it reopens with {@code startAfter} an invalidate. While the stream is quiet it adds heartbeats
 * ({@link Heartbeats}), and it numbers what it hands on ({@link Numbering}).
 *
 * <p>One stage, not Akka's {@code RestartSource} over {@code fromMaterializer} over
 * {@code completionStageSource} merged with a heartbeat source: each of those nests the stream in a
 * sub-source, and every element crossed each boundary as an asynchronous input of the interpreter
 * (and every pull went back the same way) — four levels, a few hundred bytes and a few
 * interpreter passes per event. Here an event crosses one boundary, the open cursor's.
 */
final class ReopeningSource extends GraphStage<SourceShape<StreamElement>> {
  private static final Logger log = LoggerFactory.getLogger(ReopeningSource.class);
  private static final String REOPEN = "reopen";
  private static final String HEARTBEAT = "heartbeat";

  private final ChangeStreamSource.Definition definition;
  private final ChangeStreamSource.Opener opener;
  private final Outlet<StreamElement> out = Outlet.create("ChangeStreamSource.out");
  private final SourceShape<StreamElement> shape = SourceShape.of(out);

  ReopeningSource(ChangeStreamSource.Definition definition, ChangeStreamSource.Opener opener) {
    this.definition = definition;
    this.opener = opener;
  }

  @Override
  public SourceShape<StreamElement> shape() {
    return shape;
  }

  /** Where the stream opens, and the gap to emit first when a policy moved it there. */
  private record Opening(ResumePosition position, Incoming.Gap gap) {}

  /** A heartbeat probe's answer: the token, if it moved on, and how many elements had been taken when it began. */
  private record Probed(Optional<BsonDocument> token, long taken) {}

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends TimerGraphStageLogic {
    /** The source's memory across reopens of this materialization. */
    private final SourceState state = new SourceState();
    private final SourceSettings settings = definition.settings();
    private final boolean heartbeats = definition.heartbeat() != null && definition.faults().heartbeat
        && definition.snapshot().mode != StartupMode.SNAPSHOT_ONLY;
    private final AsyncCallback<Object> onOpened = createAsyncCallback(this::opened);
    private final AsyncCallback<Probed> onProbed = createAsyncCallback(this::probed);
    /** The open cursor (or the snapshot copy before it); null while none is open. */
    private SubSinkInlet<Object> cursor;
    /** What is numbered and waits for demand: a gap to emit first, or an element taken while a heartbeat went out. */
    private StreamElement pending;
    /** A heartbeat probed and not yet handed on; numbered (or dropped) only when it goes out. */
    private Incoming.Heartbeat heartbeat;
    private boolean probing;
    /** The cursor ended normally and nothing reopens it: the stage completes once what it holds is out. */
    private boolean ended;
    /** Reopens since the last one that lasted: the backoff doubles with each (as RestartSource's). */
    private int restarts;
    private long resetDeadlineNanos;

    Logic() {
      super(shape);
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (pending != null) {
            StreamElement element = pending;
            pending = null;
            push(out, element);
            if (ended) completeStage();
            return;
          }
          if (heartbeat != null && emitHeartbeat()) return;
          pullCursor();
        }

        @Override
        public void onDownstreamFinish(Throwable cause) {
          if (cursor != null && !cursor.isClosed()) cursor.cancel(cause);
          cancelStage(cause);
        }
      });
    }

    @Override
    public void preStart() {
      resetDeadlineNanos = System.nanoTime() + settings.restartMinBackoff.toNanos();
      open();
      if (heartbeats) {
        Duration interval = definition.faults().heartbeatInterval;
        scheduleWithFixedDelay(HEARTBEAT, interval, interval);
      }
    }

    @Override
    public void postStop() {
      if (cursor != null && !cursor.isClosed()) cursor.cancel();
    }

    @Override
    public void onTimer(Object key) {
      if (REOPEN.equals(key)) {
        resetDeadlineNanos = System.nanoTime() + settings.restartMinBackoff.toNanos();
        open();
      } else if (HEARTBEAT.equals(key)) {
        probe();
      }
    }

    /** Finds where to open (a policy's recovery may be asked) and opens there when known. */
    private void open() {
      CompletionStage<Opening> opening;
      try {
        opening = position(definition, state);
      } catch (RuntimeException e) {
        failed(e);
        return;
      }
      opening.whenComplete((found, error) -> onOpened.invoke(error != null ? error : found));
    }

    private void opened(Object result) {
      if (result instanceof Throwable error) {
        failed(Errors.unwrap(error));
        return;
      }
      Opening opening = (Opening) result;
      if (opening.gap() != null) {
        state.took(null);
        pending = Numbering.deliver(definition, state, opening.gap());
      }
      @SuppressWarnings({"unchecked", "rawtypes"})
      Source<Object, ?> elements = opening.position() instanceof ResumePosition.Snapshot snapshot
          ? (Source) SnapshotCopy.copyThenStream(definition, state, snapshot, opener)
          : (Source) changesFrom(definition, state, opening.position(), opener);
      SubSinkInlet<Object> inlet = new SubSinkInlet<>("ChangeStreamSource.cursor");
      inlet.setHandler(new AbstractInHandler() {
        @Override
        public void onPush() {
          took(inlet.grab());
        }

        @Override
        public void onUpstreamFinish() {
          closed(inlet, null);
        }

        @Override
        public void onUpstreamFailure(Throwable error) {
          closed(inlet, error);
        }
      });
      cursor = inlet;
      elements.runWith(inlet.sink(), subFusingMaterializer());
      if (isAvailable(out)) {
        if (pending != null) {
          push(out, pending);
          pending = null;
        } else {
          pullCursor();
        }
      }
    }

    private void pullCursor() {
      if (cursor != null && !cursor.isClosed() && !cursor.hasBeenPulled()) cursor.pull();
    }

    /** An element left the cursor: it is taken (a reopen goes on after it), numbered, and handed on. */
    private void took(Object element) {
      StreamElement delivered;
      if (element instanceof ChangeStreamDocument<?> raw) {
        @SuppressWarnings("unchecked")
        ChangeStreamDocument<Document> event = (ChangeStreamDocument<Document>) raw;
        state.tookEvent(event);
        delivered = Numbering.deliverEvent(definition, state, event);
      } else {
        delivered = Numbering.deliver(definition, state, (Incoming) element);
      }
      if (delivered == null) pullCursor(); // a fragment before a split event's last: nothing to hand on yet
      else if (isAvailable(out)) push(out, delivered);
      else pending = delivered; // a heartbeat went out while the cursor was asked
    }

    /** The cursor ended (error null) or failed: reopen when the stream goes on, else end with it. */
    private void closed(SubSinkInlet<Object> inlet, Throwable error) {
      if (inlet != cursor) return;
      cursor = null;
      if (error == null) {
        // Following the collection, the stream reopens after it ends, which it only does after an invalidate.
        if (definition.faults().followCollection && definition.snapshot().mode != StartupMode.SNAPSHOT_ONLY) reopenWithBackoff();
        else end();
        return;
      }
      failed(error);
    }

    private void failed(Throwable error) {
      if (decide(definition, state, error)) reopenWithBackoff();
      else failStage(error);
    }

    private void end() {
      ended = true;
      if (pending == null) completeStage();
    }

    /** Capped exponential backoff with jitter; the count starts again once an opening lasted the minimum backoff. */
    private void reopenWithBackoff() {
      if (System.nanoTime() - resetDeadlineNanos >= 0) restarts = 0;
      double jitter = 1.0 + java.util.concurrent.ThreadLocalRandom.current().nextDouble() * settings.restartRandomFactor;
      double nanos = Math.min(settings.restartMaxBackoff.toNanos(), settings.restartMinBackoff.toNanos() * Math.pow(2, Math.min(restarts, 62)));
      restarts++;
      scheduleOnce(REOPEN, Duration.ofNanos((long) Math.min(Long.MAX_VALUE / 2.0, nanos * jitter)));
    }

    /** While the stream is quiet, the server's position after it, on the blocking dispatcher; one probe at a time. */
    private void probe() {
      if (probing || heartbeat != null) return;
      ResumePosition current = state.current();
      Duration interval = definition.faults().heartbeatInterval;
      if (current == null || current instanceof ResumePosition.Snapshot || System.nanoTime() - state.lastDeliveryNanos < interval.toNanos()) return;
      probing = true;
      long taken = state.taken;
      // After the newest heartbeat while quiet: resuming after the last event would fail once it left the oplog.
      ResumePosition after = state.probeFrom();
      List<Bson> pipeline = pipeline(definition, state);
      Executor blocking = materializer().system().dispatchers().lookup("akka.actor.default-blocking-io-dispatcher");
      CompletableFuture.supplyAsync(() -> Heartbeats.probe(definition, after, pipeline), blocking)
          .whenComplete((token, error) -> onProbed.invoke(new Probed(token == null ? Optional.empty() : token, taken)));
    }

    private void probed(Probed probed) {
      probing = false;
      if (probed.token().isEmpty()) return;
      heartbeat = new Incoming.Heartbeat(probed.token().get(), probed.taken());
      if (isAvailable(out) && pending == null) emitHeartbeat();
    }

    /**
     * Hands on the heartbeat probed, numbered as the event it follows, unless anything was taken since its
     * probe began (it is dropped then). @return whether it went out
     */
    private boolean emitHeartbeat() {
      StreamElement delivered = Numbering.deliver(definition, state, heartbeat);
      heartbeat = null;
      if (delivered == null) return false;
      push(out, delivered);
      return true;
    }
  }

  /** The change stream from a position, its events wrapped as they arrive (after a snapshot copy, which hands on {@link Incoming}s). */
  static Source<Incoming, NotUsed> streamFrom(ChangeStreamSource.Definition definition, SourceState state, ResumePosition position, ChangeStreamSource.Opener opener) {
    return changesFrom(definition, state, position, opener).map(event -> {
      state.tookEvent(event);
      return (Incoming) new Incoming.Event(event);
    });
  }

  /** The change stream from a position, the driver's events as they are; nothing under {@code snapshot-only}. */
  private static Source<ChangeStreamDocument<Document>, NotUsed> changesFrom(
      ChangeStreamSource.Definition definition, SourceState state, ResumePosition position, ChangeStreamSource.Opener opener) {
    if (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY) {
      StreamMdc.info(log, definition.stream(), "stream '{}': the snapshot is complete (checkpoint at {}); snapshot-only: nothing more to do", definition.stream(),
          position.describe());
      return Source.empty();
    }
    return opener.open(position, pipeline(definition, state));
  }

  /** Where a reopen goes on after this event; null for a fragment of a split event (a reopen resends it from the first). */
  static ResumePosition positionAfter(ChangeStreamDocument<Document> event) {
    if (!hasPositionAfter(event)) return null;
    return "invalidate".equals(event.getOperationTypeString())
        ? ResumePosition.startAfter(event.getResumeToken())
        : ResumePosition.resumeAfter(event.getResumeToken());
  }

  /** Whether a reopen goes on after this event: not after a fragment before a split event's last, nor an event without a token. */
  static boolean hasPositionAfter(ChangeStreamDocument<Document> event) {
    if (event.getSplitEvent() != null && event.getSplitEvent().getFragment() < event.getSplitEvent().getOf()) return false;
    return event.getResumeToken() != null; // one without is refused when numbered, with a clear message
  }

  /** The stream's aggregation stages after {@code $changeStream}: skipped events left out, the user's stages, splitting. */
  static List<Bson> pipeline(ChangeStreamSource.Definition definition, SourceState state) {
    List<Bson> pipeline = new ArrayList<>();
    if (!state.excluded.isEmpty()) {
      pipeline.add(new Document("$match", new Document("_id", new Document("$nin", new ArrayList<>(state.excluded)))));
    }
    pipeline.addAll(definition.pipeline());
    if (definition.faults().onOversizeEvent == FaultSettings.Oversize.SPLIT) {
      pipeline.add(new Document("$changeStreamSplitLargeEvent", new Document()));
    }
    return pipeline;
  }

  /** Whether to reopen after a failure of the stream itself; says which it is. */
  static boolean decide(ChangeStreamSource.Definition definition, SourceState state, Throwable error) {
    ResumableErrors.Kind kind = ResumableErrors.classify(error);
    if (definition.restartable().test(error)) {
      StreamMdc.warn(log, definition.stream(), "stream '{}': {}; reopening the change stream with backoff", definition.stream(), ResumableErrors.describe(error));
      return true;
    }
    if (definition.recovery() != null && definition.recovery().handles(kind)) {
      state.pendingKind = kind;
      state.pendingError = error;
      return true;
    }
    StreamMdc.error(log, definition.stream(), "stream '{}': {}; not resumable, stopping", definition.stream(), ResumableErrors.describe(error));
    return false;
  }

  static CompletionStage<Opening> position(ChangeStreamSource.Definition definition, SourceState state) {
    if (state.pendingKind != null) {
      ResumableErrors.Kind kind = state.pendingKind;
      Throwable error = state.pendingError;
      state.pendingKind = null;
      state.pendingError = null;
      state.lastHeartbeat = null; // the stream goes on where the policy says, not after a heartbeat before the fault
      return definition.recovery().recover(kind, error, state.current()).thenApply(recovered -> {
        if (kind == ResumableErrors.Kind.TOO_LARGE) {
          BsonDocument oversize = ResumableErrors.oversizeToken(error);
          state.excluded.add(oversize);
          StreamMdc.warn(log, definition.stream(), "stream '{}': reopening at {} without the oversize event {}", definition.stream(),
              recovered.position().describe(), oversize.toJson());
        } else {
          state.restartAt(recovered.position());
        }
        return new Opening(recovered.position(), new Incoming.Gap(recovered.gapAt(), recovered.note()));
      });
    }
    ResumePosition heartbeat = state.heartbeatSinceTaken();
    if (heartbeat != null) {
      // Not after the last event: while the stream was quiet, other writes may have pushed it off the oplog (286).
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream after its newest heartbeat (no event since): {}",
          definition.stream(), heartbeat.describe());
      return CompletableFuture.completedFuture(new Opening(heartbeat, null));
    }
    ResumePosition taken = state.lastTaken();
    if (taken != null) {
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream after the last event it delivered: {}", definition.stream(), taken.describe());
      return CompletableFuture.completedFuture(new Opening(taken, null));
    }
    ResumePosition known = state.initial;
    if (known != null) {
      StreamMdc.info(log, definition.stream(), "stream '{}': reopening the change stream at its initial position: {}", definition.stream(), known.describe());
      return CompletableFuture.completedFuture(new Opening(known, null));
    }
    return definition.initialPosition().get().thenApply(position -> {
      state.initial = position;
      return new Opening(position, null);
    });
  }
}
