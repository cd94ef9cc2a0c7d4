package io.tidemark.window;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.BidiShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.javadsl.BidiFlow;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.StreamElement;
import java.time.Instant;
import org.bson.BsonDocument;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sliding window between the change stream and the user's stages, and the checkpointer
 * behind it.
 *
 * <pre>
 *            +--------------------------------+
 *  events -> | events               toStages  | -> envelopes to the user's stages
 *   saved <- | saved             completions  | <- finished events (or a failed lane)
 *            +--------------------------------+
 * </pre>
 *
 * <p>Guarantees:
 *
 * <ul>
 *   <li>a checkpoint is only ever taken at the <em>safe</em> event: it and every event before it
 *       have completed, whatever order completions arrive in;
 *   <li>at most {@code size} events are in flight (admitted, not behind the safe event), and at
 *       most {@code size + checkpointEveryEvents} events are admitted past the last durable
 *       checkpoint, so a crash replays at most that many; the stage backpressures otherwise;
 *   <li>the safe checkpoint is written every {@code checkpointEveryEvents} events or
 *       {@code checkpointEveryInterval}, whichever comes first, and once more when the stream
 *       ends or a user stage fails; a failed write is retried with backoff, never skipped;
 *   <li>when a lane of user stages fails, nothing more is admitted, every lane finishes the work
 *       it holds (so the next run never overlaps a write of this one), the safe token is saved,
 *       and the stage fails with a {@link StageFailedException}; lanes that do not finish within
 *       {@code drainTimeout} fail it with a {@link LanesDidNotDrainException}, which must not be
 *       retried in this process;
 *   <li>heartbeats (a quiet stream's position) take no slot of the window: the newest one trails
 *       the newest event and becomes the checkpoint once everything before it is done; one that
 *       does not move past the newest position is dropped;
 *   <li>a batch that copy workers copied and handled elsewhere ({@link StreamElement.CopiedBatch})
 *       reaches no stage: it is done once admitted, and its documents count towards
 *       {@code checkpointEveryEvents} as that many events would;
 *   <li>every durable checkpoint is emitted on {@code saved} (the newest one, if that port is
 *       slow); nothing downstream of {@code saved} is required.
 * </ul>
 *
 * An abrupt stop (the actor system dies) writes nothing more: the next run replays from the last
 * durable checkpoint.
 */
@akka.annotation.InternalApi
public final class SafeTokenWindow extends GraphStage<BidiShape<StreamElement, ChangeEnvelope, Completion, Checkpoint>> {
  private static final Logger log = LoggerFactory.getLogger(SafeTokenWindow.class);
  private static final String INTERVAL_TIMER = "interval";
  private static final String RETRY_TIMER = "retry";
  private static final String DRAIN_TIMER = "drain";

  private final Inlet<StreamElement> events = Inlet.create("SafeTokenWindow.events");
  private final Outlet<ChangeEnvelope> toStages = Outlet.create("SafeTokenWindow.toStages");
  private final Inlet<Completion> completions = Inlet.create("SafeTokenWindow.completions");
  private final Outlet<Checkpoint> saved = Outlet.create("SafeTokenWindow.saved");
  private final BidiShape<StreamElement, ChangeEnvelope, Completion, Checkpoint> shape =
      BidiShape.of(events, toStages, completions, saved);

  private final String stream;
  private final WindowSettings settings;
  private final Function<Checkpoint, CompletionStage<Done>> save;
  private final WindowStats stats;

  private SafeTokenWindow(
      String stream, WindowSettings settings, Function<Checkpoint, CompletionStage<Done>> save, WindowStats stats) {
    this.stream = stream;
    this.settings = settings;
    this.save = save;
    this.stats = stats;
  }

  /**
   * @param save writes one checkpoint durably; called with at most one write outstanding
   */
  public static BidiFlow<StreamElement, ChangeEnvelope, Completion, Checkpoint, NotUsed> create(
      String stream, WindowSettings settings, Function<Checkpoint, CompletionStage<Done>> save, WindowStats stats) {
    return BidiFlow.fromGraph(new SafeTokenWindow(stream, settings, save, stats));
  }

  @Override
  public BidiShape<StreamElement, ChangeEnvelope, Completion, Checkpoint> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  /**
   * The checkpoint at a safe position, of the kind it is: an event's token (an invalidate's, to be
   * resumed with startAfter), a copied document's (or a batch copied elsewhere's) snapshot progress,
   * a heartbeat's token, a gap's position with its note, a snapshot's end at its time, a note at the
   * token before it.
   */
  public static Checkpoint checkpointAt(String stream, StreamElement safe) {
    if (safe instanceof ChangeEnvelope event) {
      if (event.isSnapshot() && !event.isIncrementalSnapshot()) {
        return new Checkpoint(stream, null, event.clusterTime(), Instant.now(), 0, CheckpointKind.SNAPSHOT, null, event.snapshotProgress());
      }
      if (event.isIncrementalSnapshot()) {
        // The stream's position before the copied row, with a note for the history.
        return Checkpoint.atToken(stream, event.resumeToken(), event.clusterTime()).as(CheckpointKind.EVENT,
            "incremental snapshot of " + event.namespace() + ": copying, at " + new org.bson.BsonDocument("_id", event.documentKey().get("_id")).toJson());
      }
      CheckpointKind kind = "invalidate".equals(event.operationType()) ? CheckpointKind.INVALIDATE : CheckpointKind.EVENT;
      return Checkpoint.atToken(stream, event.resumeToken(), event.clusterTime()).as(kind, null);
    }
    if (safe instanceof StreamElement.Heartbeat heartbeat) {
      return Checkpoint.atToken(stream, heartbeat.token(), heartbeat.clusterTime()).as(CheckpointKind.HEARTBEAT, null);
    }
    if (safe instanceof StreamElement.CopiedBatch batch) {
      return new Checkpoint(stream, null, batch.clusterTime(), Instant.now(), 0, CheckpointKind.SNAPSHOT, null, batch.position().progress());
    }
    if (safe instanceof StreamElement.SnapshotEnd end) {
      return Checkpoint.atOperationTime(stream, end.at()).as(CheckpointKind.START, end.note());
    }
    if (safe instanceof StreamElement.Note note) {
      return Checkpoint.atToken(stream, note.token(), note.clusterTime()).as(CheckpointKind.SIGNAL, note.note());
    }
    StreamElement.Gap gap = (StreamElement.Gap) safe;
    ResumePosition at = gap.at();
    if (at instanceof ResumePosition.ResumeAfter resume) {
      return Checkpoint.atToken(stream, resume.token(), gap.clusterTime()).as(CheckpointKind.GAP, gap.note());
    }
    if (at instanceof ResumePosition.Snapshot copy) {
      // A re-snapshot: the gap checkpoint already says "copy again", so a crash right after it still copies.
      return new Checkpoint(stream, null, copy.at(), Instant.now(), 0, CheckpointKind.GAP, gap.note(), copy.progress());
    }
    return new Checkpoint(stream, null, gap.clusterTime(), Instant.now(), 0, CheckpointKind.GAP, gap.note(), null);
  }

  private final class Logic extends TimerGraphStageLogic {
    private final InFlightWindow window = new InFlightWindow(settings.size);
    private final long admitLimit = settings.replayBound();
    private final AsyncCallback<Pair<Checkpoint, Throwable>> onSaveResult = createAsyncCallback(this::saveFinished);
    private final AsyncCallback<CompletableFuture<List<InFlightEvent>>> onSnapshot =
        createAsyncCallback(request -> request.complete(List.copyOf(window.snapshot())));
    private final Consumer<CompletableFuture<List<InFlightEvent>>> snapshots = onSnapshot::invoke;
    /**
     * Ends the stages' input. Never called straight from a handler: Akka 2.6's interpreter loses a
     * completion issued while the stages' pull of that port is being chased (it delivers the pull
     * instead, and {@code GraphInterpreter.complete} only guards a chased push), which happens when
     * a failure arrives on {@code completions} in the same pass: the lanes then wait for input until
     * the drain timeout. An async callback runs in a pass of its own, with nothing being chased.
     */
    private final AsyncCallback<Done> onEndStages = createAsyncCallback(done -> {
      if (!isClosed(toStages)) complete(toStages);
    });
    private boolean stagesEnded;

    /** The newest durable position, and the sequence number it stands at. */
    private StreamElement savedPosition;
    private long savedSeq;
    private boolean saving;
    private StreamElement savingPosition;
    private long savingSeq;
    /** Markers saved as themselves (gaps, a snapshot's end, notes) admitted and not yet saved, oldest first. */
    private final java.util.ArrayDeque<StreamElement> gaps = new java.util.ArrayDeque<>();
    /** For each gap, the position just before it (saved first, so the history shows where the gap begins). */
    private final java.util.Map<StreamElement, StreamElement> before = new java.util.IdentityHashMap<>();
    /** The newest position admitted: an event, a marker, or a heartbeat after them. */
    private StreamElement newestAdmitted;
    private long lastSaveNanos = System.nanoTime();
    /** Documents of batches copied elsewhere admitted since the last save began, beyond one per batch: they count towards the throttle. */
    private long batchDocumentsUnsaved;
    private Duration retryBackoff = settings.retryMinBackoff;
    private Checkpoint unemitted;
    /** No more events are admitted: the source ended or failed, a lane failed, or the stream is stopping. */
    private boolean draining;
    /** Whether the interval timer is set: known here, so that an event's completion needs no look-up in the timers. */
    private boolean intervalTimerSet;
    private boolean terminating;
    private Throwable terminalFailure;

    Logic() {
      super(shape);
      setHandler(
          events,
          new AbstractInHandler() {
            @Override
            public void onPush() {
              if (isClosed(events)) return; // cancelled while its push was being chased: not admitted
              StreamElement element = grab(events);
              if (element instanceof StreamElement.Heartbeat heartbeat) {
                if (window.heartbeat(heartbeat)) {
                  newestAdmitted = heartbeat;
                  stats.onQuietPosition(heartbeat.clusterTime().getValue()); // caught up to here: lag stays true on a quiet stream
                  safeMoved();
                }
                admitMore();
                return;
              }
              window.admit(element);
              StreamElement previous = newestAdmitted;
              newestAdmitted = element;
              if (element instanceof StreamElement.CopiedBatch batch) {
                // Copied and handled elsewhere (copy workers): done once admitted, an ordinary position of the copy. Its documents
                // count towards the checkpoint throttle as events would, so a crash re-copies about as much as a local copy's.
                batchDocumentsUnsaved += Math.max(0, batch.documents() - 1);
                onCompleted(element.seqNr());
                admitMore();
                return;
              }
              if (!(element instanceof ChangeEnvelope envelope)) {
                // A position without an event (a gap, a snapshot's end, a note): saved as itself once everything before it is done.
                gaps.add(element);
                if (previous != null && element instanceof StreamElement.Gap) before.put(element, previous);
                onCompleted(element.seqNr());
                admitMore();
                return;
              }
              stats.onAdmitted(envelope);
              stats.onInFlight(window.inFlight());
              push(toStages, envelope);
            }

            @Override
            public void onUpstreamFinish() {
              drain(null);
            }

            @Override
            public void onUpstreamFailure(Throwable error) {
              // Let the stages finish what they hold, save the safe token, then fail.
              drain(error);
            }
          });
      setHandler(
          toStages,
          new AbstractOutHandler() {
            @Override
            public void onPull() {
              admitMore();
            }

            @Override
            public void onDownstreamFinish(Throwable cause) {
              cancel(events, cause);
            }
          });
      setHandler(
          completions,
          new AbstractInHandler() {
            @Override
            public void onPush() {
              Completion completion = grab(completions);
              if (completion.isFailure()) {
                drain(completion.failure() instanceof StageFailedException ? completion.failure()
                    : new StageFailedException(stream, completion.failure()));
              } else {
                onCompleted(completion.seqNr());
              }
              pull(completions);
              admitMore();
            }

            @Override
            public void onUpstreamFinish() {
              if (terminalFailure == null && window.inFlight() > 0) {
                failStage(
                    new IllegalStateException(
                        "stream '" + stream + "': the user stages completed with " + window.inFlight()
                            + " events unfinished (first #" + (window.safeSeq() + 1) + "); no checkpoint was taken past them"));
                return;
              }
              terminate(null);
            }

            @Override
            public void onUpstreamFailure(Throwable error) {
              terminate(error instanceof StageFailedException ? error : new StageFailedException(stream, error));
            }
          });
      setHandler(
          saved,
          new AbstractOutHandler() {
            @Override
            public void onPull() {
              if (unemitted != null) {
                push(saved, unemitted);
                unemitted = null;
              }
            }

            @Override
            public void onDownstreamFinish(Throwable cause) {
              // Nobody needs to watch the checkpoints; keep saving them.
            }
          });
    }

    @Override
    public void preStart() {
      stats.startRun(window.capacity());
      // Every port may close before the last save is durable: the stage ends itself, explicitly.
      setKeepGoing(true);
      stats.snapshotsFrom(snapshots);
      pull(completions);
    }

    @Override
    public void postStop() {
      stats.snapshotsGone(snapshots);
    }

    private void onCompleted(long seqNr) {
      long safeBefore = window.safeSeq();
      StreamElement done = window.complete(seqNr);
      stats.onInFlight(window.inFlight());
      if (done != null) {
        if (done instanceof ChangeEnvelope) stats.onCompleted(done.clusterTime() == null ? 0 : done.clusterTime().getValue());
        if (window.safeSeq() != safeBefore) safeMoved();
      }
    }

    /** The safe position may have moved: tell the stats (and the replica, when nothing unsaved must come first), and save when due. */
    private void safeMoved() {
      stats.onSafe(window.safePosition(), gaps.isEmpty());
      saveIfDue();
    }

    private void admitMore() {
      if (!draining
          && isAvailable(toStages)
          && !hasBeenPulled(events)
          && !isClosed(events)
          && window.hasRoom()
          && window.admittedSeq() + 1 - savedSeq <= admitLimit) {
        pull(events);
      }
    }

    /** Whether the safe position is ahead of what is durable (or being written). */
    private boolean unsaved() {
      StreamElement position = window.safePosition();
      return position != null && position != savedPosition;
    }

    private void saveIfDue() {
      if (saving || !unsaved()) return;
      boolean gapDone = !gaps.isEmpty() && gaps.peek().seqNr() <= window.safeSeq();
      if (gapDone || window.safeSeq() - savedSeq + batchDocumentsUnsaved >= settings.checkpointEveryEvents) {
        startSave();
      } else if (!intervalTimerSet) {
        long sinceLast = System.nanoTime() - lastSaveNanos;
        long wait = Math.max(0, settings.checkpointEveryInterval.toNanos() - sinceLast);
        scheduleOnce(INTERVAL_TIMER, Duration.ofNanos(wait));
        intervalTimerSet = true;
      }
    }

    @Override
    public void onTimer(Object key) {
      if (INTERVAL_TIMER.equals(key)) {
        intervalTimerSet = false;
        if (!saving && unsaved()) startSave();
      } else if (RETRY_TIMER.equals(key)) {
        if (!saving && unsaved()) startSave();
        else if (terminating && !saving) finish();
      } else if (DRAIN_TIMER.equals(key) && !terminating) {
        List<InFlightEvent> stuck = window.snapshot().stream().filter(event -> !event.completed()).limit(5).toList();
        terminate(new LanesDidNotDrainException(stream, settings.drainTimeout, stuck, terminalFailure));
      }
    }

    private void startSave() {
      // A gap (or a snapshot's end) is saved as itself, with its note, before any position after it: the history must show
      // it. The position just before it goes first when it is not durable yet: the history then shows where the gap begins.
      StreamElement gap = gaps.peek();
      boolean gapFirst = gap != null && gap.seqNr() <= window.safeSeq();
      StreamElement previous = gapFirst ? before.get(gap) : null;
      boolean previousFirst = previous != null && previous != savedPosition
          && (previous.seqNr() > savedSeq || (previous instanceof StreamElement.Heartbeat && previous.seqNr() == savedSeq));
      StreamElement safe = previousFirst ? previous : gapFirst ? gap : window.safePosition();
      if (gapFirst && !previousFirst) before.remove(gap);
      Checkpoint checkpoint = checkpointAt(stream, safe);
      batchDocumentsUnsaved = 0;
      saving = true;
      savingPosition = safe;
      savingSeq = safe == gap || safe == previous ? safe.seqNr() : window.safeSeq();
      cancelTimer(INTERVAL_TIMER);
      intervalTimerSet = false;
      CompletionStage<Done> write;
      try {
        write = save.apply(checkpoint);
      } catch (RuntimeException e) {
        saveFinished(Pair.create(checkpoint, e));
        return;
      }
      write.whenComplete((done, error) -> onSaveResult.invoke(Pair.create(checkpoint, error)));
    }

    private void saveFinished(Pair<Checkpoint, Throwable> result) {
      saving = false;
      Checkpoint checkpoint = result.first();
      Throwable error = result.second();
      if (error != null) {
        Throwable cause = Errors.unwrap(error);
        if (cause instanceof TidemarkException) {
          failStage(cause);
          return;
        }
        StreamMdc.warn(log, stream,
            "stream '{}': checkpoint write failed ({}); retrying in {} ms, holding events past the last saved token",
            stream, Errors.summary(cause), retryBackoff.toMillis());
        scheduleOnce(RETRY_TIMER, retryBackoff);
        Duration doubled = retryBackoff.multipliedBy(2);
        retryBackoff = doubled.compareTo(settings.retryMaxBackoff) > 0 ? settings.retryMaxBackoff : doubled;
        return;
      }
      savedSeq = savingSeq;
      savedPosition = savingPosition;
      while (!gaps.isEmpty() && gaps.peek().seqNr() <= savedSeq) gaps.poll();
      if (gaps.isEmpty()) stats.onSafe(window.safePosition(), true);
      lastSaveNanos = System.nanoTime();
      retryBackoff = settings.retryMinBackoff;
      stats.onSaved(checkpoint, System.currentTimeMillis());
      if (isAvailable(saved)) {
        push(saved, checkpoint);
        unemitted = null;
      } else {
        unemitted = checkpoint;
      }
      if (terminating) {
        if (unsaved()) startSave();
        else finish();
      } else {
        saveIfDue();
        admitMore();
      }
    }

    /**
     * Stops admitting events and lets the stages finish what they hold (bounded by the drain
     * timeout); the run ends when they complete. {@code failure}: why it must then fail.
     */
    private void drain(Throwable failure) {
      if (failure != null && terminalFailure == null) terminalFailure = failure;
      if (draining) return;
      draining = true;
      if (failure != null) {
        StreamMdc.info(log, stream, "stream '{}': {}; admitting no more events, letting the stages finish the {} they hold (at most {} s)",
            stream, Errors.summary(failure), window.inFlight(), settings.drainTimeout.toSeconds());
      }
      if (!isClosed(events)) cancel(events);
      endStages();
      scheduleOnce(DRAIN_TIMER, settings.drainTimeout);
    }

    private void endStages() {
      if (stagesEnded) return;
      stagesEnded = true;
      onEndStages.invoke(Done.getInstance());
    }

    /** The stages are done (or failed, or did not drain in time): save the safe token once more, then stop. */
    private void terminate(Throwable failure) {
      terminating = true;
      draining = true;
      if (failure != null) terminalFailure = failure;
      cancelTimer(INTERVAL_TIMER);
      intervalTimerSet = false;
      cancelTimer(DRAIN_TIMER);
      if (!isClosed(events)) cancel(events);
      endStages();
      if (saving) return; // saveFinished continues
      if (unsaved()) startSave();
      else finish();
    }

    private void finish() {
      Runnable end = terminalFailure != null ? () -> failStage(terminalFailure) : this::completeStage;
      if (unemitted != null && !isClosed(saved)) {
        Checkpoint last = unemitted;
        unemitted = null;
        emit(saved, last, end::run);
      } else {
        end.run();
      }
    }
  }
}
