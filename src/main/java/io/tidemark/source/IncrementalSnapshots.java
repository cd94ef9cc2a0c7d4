package io.tidemark.source;

import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Outlet;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.AsyncCallback;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.stage.TimerGraphStageLogic;
import io.tidemark.Errors;
import io.tidemark.StreamMdc;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.function.LongSupplier;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Incremental snapshots on demand, in the running stream (a stage between the source and the
 * window). For the stream's oldest request not done, it reads the next chunk of the collection
 * ({@code _id} order after the last one done, with the request's filter) between a low and a high
 * watermark while the elements flow on unchanged, drops every row a change event from the low
 * watermark on touched ({@link ChunkWindow}), and hands the rest on just before the first event past
 * the high watermark or heartbeat at or past it — each at the position of the element before it (its token),
 * so a checkpoint at a row is the stream's own position, and a crash replays from there with the
 * chunk read again. The request's progress (the last {@code _id} done) is written to its signal
 * document only once the window's safe position has passed the chunk's last row: never ahead of
 * what is done. Elements after the rows are numbered on by the number of rows handed on.
 *
 * <p>While a request is in progress its document's state is read again every poll interval: a
 * request {@code paused} there opens no chunk (the one open goes on to its end) until it is resumed;
 * one stopped (or ended any other way, or deleted) drops the chunk open, if its rows are not handed
 * on yet, and the next request is taken. What a request does — started (or went on after a
 * restart), paused, resumed, stopped, done — goes into the checkpoint history as a {@link
 * StreamElement.Note} at the stream's position, numbered like a row.
 */
@akka.annotation.InternalApi
public final class IncrementalSnapshots extends GraphStage<FlowShape<StreamElement, StreamElement>> {
  private static final Logger log = LoggerFactory.getLogger(IncrementalSnapshots.class);

  private final Inlet<StreamElement> in = Inlet.create("IncrementalSnapshots.in");
  private final Outlet<StreamElement> out = Outlet.create("IncrementalSnapshots.out");
  private final FlowShape<StreamElement, StreamElement> shape = FlowShape.of(in, out);

  private final String stream;
  private final SignalCollection signals;
  private final IncrementalSnapshotSettings settings;
  private final LongSupplier safeSeqNr;
  private final IncrementalSnapshotProgress progress;

  /**
   * @param safeSeqNr the sequence number of the window's newest safe position in this run (every
   *     element up to it done), or -1 before the first
   */
  public IncrementalSnapshots(
      String stream, SignalCollection signals, IncrementalSnapshotSettings settings, LongSupplier safeSeqNr, IncrementalSnapshotProgress progress) {
    this.stream = stream;
    this.signals = signals;
    this.settings = settings;
    this.safeSeqNr = safeSeqNr;
    this.progress = progress;
  }

  @Override
  public FlowShape<StreamElement, StreamElement> shape() {
    return shape;
  }

  @Override
  public GraphStageLogic createLogic(Attributes inheritedAttributes) {
    return new Logic();
  }

  private final class Logic extends TimerGraphStageLogic {
    /** Rows handed on so far in this run: what the elements after them are numbered on by. */
    private long shift;
    /** The number of the last element handed on. */
    private long lastSeqNr;
    /** The position of the last event or heartbeat handed on; null before one (or after a gap or a snapshot's end). */
    private BsonDocument lastToken;
    private BsonTimestamp lastTime;
    /** An initial snapshot's copy is going through: no chunk starts before it ends. */
    private boolean copying;

    private SignalCollection.Request request;
    private BsonValue after;
    private long copied;
    private long chunks;
    private ChunkWindow chunk;
    /** Rows handed on and not yet all done: the number of the last one, and what the chunk reached. */
    private long waitingFor = -1;
    private BsonValue chunkEnd;
    private int chunkRows;
    private boolean lastChunk;
    /** A read, a poll or a progress write is under way. */
    private boolean busy;
    /** The request is paused: no chunk is opened. */
    private boolean paused;
    /** When the request's state was last read. */
    private long lastCheck;
    /** Notes for the history not yet handed on: they wait for a stream position (an event or a heartbeat). */
    private final java.util.ArrayDeque<String> notes = new java.util.ArrayDeque<>();

    private final AsyncCallback<Object[]> onRead = createAsyncCallback(this::readDone);
    private final AsyncCallback<Object[]> onPolled = createAsyncCallback(this::polled);
    private final AsyncCallback<Throwable> onWritten = createAsyncCallback(this::written);
    private final AsyncCallback<Object[]> onChecked = createAsyncCallback(this::checked);

    Logic() {
      super(shape);
      setHandler(in, new AbstractInHandler() {
        @Override
        public void onPush() {
          arrived(grab(in));
        }
      });
      setHandler(out, new AbstractOutHandler() {
        @Override
        public void onPull() {
          if (!hasBeenPulled(in)) pull(in);
        }
      });
    }

    @Override
    public void preStart() {
      long tick = Math.max(20, Math.min(settings.pollInterval.toMillis(), 200));
      scheduleWithFixedDelay("tick", java.time.Duration.ofMillis(tick), java.time.Duration.ofMillis(tick));
    }

    private long lastPoll;

    @Override
    public void onTimer(Object key) {
      if (busy) return;
      if (waitingFor >= 0) {
        if (safeSeqNr.getAsLong() >= waitingFor) chunkDone();
        return;
      }
      if (request == null) {
        long now = System.nanoTime();
        if (now - lastPoll < settings.pollInterval.toNanos()) return;
        lastPoll = now;
        busy = true;
        signals.next().whenComplete((found, error) -> onPolled.invoke(new Object[] {found, error}));
        return;
      }
      long now = System.nanoTime();
      if (now - lastCheck >= settings.pollInterval.toNanos()) {
        lastCheck = now;
        busy = true;
        signals.state(request).whenComplete((state, error) -> onChecked.invoke(new Object[] {state, error}));
        return;
      }
      startChunkIfDue();
    }

    private void startChunkIfDue() {
      if (request != null && !busy && waitingFor < 0 && chunk == null && lastToken != null && !copying && !paused) startChunk();
    }

    /** The request's state as its document says now: a pause, a resume or a stop takes effect here. */
    private void checked(Object[] result) {
      busy = false;
      if (result[1] != null) {
        StreamMdc.warn(log, stream, "stream '{}': {}: could not read the request's state: {}", stream, request.describe(),
            Errors.summary(Errors.unwrap((Throwable) result[1])));
        startChunkIfDue();
        return;
      }
      String state = (String) result[0];
      if (state == null || !SignalCollection.OPEN.contains(state)) {
        ended(state); // a chunk open (read, its rows not handed on) is dropped
      } else if (SignalCollection.PAUSED.equals(state) && !paused) {
        paused = true;
        progress.paused(true);
        StreamMdc.info(log, stream, "stream '{}': {} paused after {} documents in {} chunks{}", stream, request.describe(), copied, chunks,
            chunk == null ? "" : " (the chunk open goes on to its end)");
        note("paused after " + copied + " documents in " + chunks + " chunks");
      } else if (!SignalCollection.PAUSED.equals(state) && paused) {
        paused = false;
        progress.paused(false);
        if (SignalCollection.PENDING.equals(state)) markStarted();
        StreamMdc.info(log, stream, "stream '{}': {} resumed{}", stream, request.describe(), goingOn());
        note("resumed" + goingOn());
      }
      startChunkIfDue(); // the check took this tick's turn: the next chunk need not wait for the next one
    }

    /**
     * The request has been stopped (or ended otherwise: {@code state} another state, null when its
     * document is gone): nothing more of it is read; the next one is taken.
     */
    private void ended(String state) {
      String how = SignalCollection.STOPPED.equals(state) ? "stopped"
          : state == null ? "ended (its document was deleted)" : "ended (state " + state + ")";
      StreamMdc.info(log, stream, "stream '{}': {} {} after {} documents in {} chunks; taking the next request", stream, request.describe(),
          how, copied, chunks);
      note(how + " after " + copied + " documents in " + chunks + " chunks");
      progress.stoppedEarly();
      clear();
    }

    /** No request in progress: the next one is looked for at once. */
    private void clear() {
      request = null;
      chunk = null;
      paused = false;
      lastPoll = 0;
    }

    private String goingOn() {
      return after == null ? "" : " after _id " + new BsonDocument("_id", after).toJson() + " (" + copied + " documents, " + chunks + " chunks done)";
    }

    /** Marks the request running in its document (from pending only); a failure only delays that: the progress goes on. */
    private void markStarted() {
      SignalCollection.Request taken = request; // the callback runs outside the stage
      signals.start(taken).whenComplete((done, error) -> {
        if (error != null) {
          StreamMdc.warn(log, stream, "stream '{}': {}: could not mark it running: {}", stream, taken.describe(),
              Errors.summary(Errors.unwrap(error)));
        }
      });
    }

    /**
     * A note for the checkpoint history, handed on at once at the position of the last event or
     * heartbeat handed on (or, when there is none yet, after the next one).
     */
    private void note(String what) {
      notes.add(request.describe() + ": " + what);
      handOnNotes();
    }

    /**
     * Hands on the notes waiting, at the position of the last event or heartbeat handed on. Called
     * outside the handlers too: hence {@code emit} everywhere in this stage, which waits for demand,
     * where a {@code push} could find the port already pushed to.
     */
    private void handOnNotes() {
      if (notes.isEmpty() || lastToken == null) return;
      List<StreamElement> elements = new ArrayList<>(notes.size());
      while (!notes.isEmpty()) {
        elements.add(new StreamElement.Note(++lastSeqNr, lastToken, lastTime, notes.poll()));
        shift++;
      }
      emitMultiple(out, elements.iterator());
    }

    @SuppressWarnings("unchecked")
    private void polled(Object[] result) {
      busy = false;
      if (result[1] != null) {
        StreamMdc.warn(log, stream, "stream '{}': could not read the incremental snapshot requests: {}", stream,
            Errors.summary(Errors.unwrap((Throwable) result[1])));
        return;
      }
      Optional<SignalCollection.Request> found = (Optional<SignalCollection.Request>) result[0];
      if (found.isEmpty()) return;
      request = found.get();
      after = request.after();
      copied = request.copied();
      chunks = request.chunks();
      paused = request.paused();
      lastCheck = System.nanoTime();
      progress.started(request);
      if (SignalCollection.PENDING.equals(request.state())) markStarted();
      StreamMdc.info(log, stream, "stream '{}': {}: {} in chunks of {}{}{}", stream, request.describe(),
          after == null ? "starting" : "going on", settings.chunkSize, goingOn(), paused ? "; paused" : "");
      note((after == null && chunks == 0 ? "started" : "going on" + goingOn()) + (paused ? ", paused" : ""));
    }

    private void startChunk() {
      ChunkWindow opened = new ChunkWindow();
      chunk = opened;
      busy = true;
      signals.read(request, after, settings.chunkSize).whenComplete((read, error) -> onRead.invoke(new Object[] {opened, read, error}));
    }

    private void readDone(Object[] result) {
      busy = false;
      ChunkWindow opened = (ChunkWindow) result[0];
      if (chunk != opened) return; // abandoned meanwhile (a gap): read again later
      if (result[2] != null) {
        StreamMdc.warn(log, stream, "stream '{}': {}: reading a chunk failed, trying again: {}", stream, request.describe(),
            Errors.summary(Errors.unwrap((Throwable) result[2])));
        chunk = null;
        return;
      }
      SignalCollection.Chunk read = (SignalCollection.Chunk) result[1];
      opened.read(read.low(), read.rows(), read.high());
    }

    private void arrived(StreamElement element) {
      if (element instanceof StreamElement.Heartbeat heartbeat) {
        if (chunk != null && chunk.reachedBy(heartbeat.clusterTime())) handOnRows(heartbeat);
        else emit(out, renumbered(heartbeat));
        lastToken = heartbeat.token();
        lastTime = heartbeat.clusterTime();
        handOnNotes();
        return;
      }
      if (element instanceof StreamElement.Gap gap) {
        abandon("a gap");
        copying = gap.at() instanceof ResumePosition.Snapshot;
        lastToken = null;
      } else if (element instanceof StreamElement.SnapshotEnd) {
        copying = false;
        lastToken = null;
      } else if (element instanceof ChangeEnvelope event && event.isSnapshot() || element instanceof StreamElement.CopiedBatch) {
        copying = true;
      } else if (element instanceof ChangeEnvelope event) {
        if (chunk != null && chunk.passedBy(event.clusterTime())) {
          handOnRows(event);
        } else {
          if (chunk != null && touchesCollection(event)) {
            if (event.documentKey() == null) abandon("a " + event.operationType());
            else chunk.onEvent(event.documentKey().get("_id"), event.clusterTime());
          }
          lastSeqNr = event.seqNr() + shift;
          emit(out, renumbered(event));
        }
        if (event.resumeToken() != null) {
          lastToken = event.resumeToken();
          lastTime = event.clusterTime();
          handOnNotes();
        }
        return;
      }
      lastSeqNr = element.seqNr() + shift;
      emit(out, renumbered(element));
    }

    /** Whether an event may change what the request's collection holds. */
    private boolean touchesCollection(ChangeEnvelope event) {
      String namespace = event.namespace();
      return request.namespace().getFullName().equals(namespace)
          || event.documentKey() == null && (request.namespace().getDatabaseName().equals(namespace) || "invalidate".equals(event.operationType()));
    }

    /** The element under its number in this stage's output: after the rows handed on before it. */
    private StreamElement renumbered(StreamElement element) {
      if (shift == 0) return element;
      if (element instanceof ChangeEnvelope event) return event.withSeqNr(event.seqNr() + shift);
      if (element instanceof StreamElement.Heartbeat heartbeat) return new StreamElement.Heartbeat(heartbeat.seqNr() + shift, heartbeat.token());
      if (element instanceof StreamElement.Gap gap) return new StreamElement.Gap(gap.seqNr() + shift, gap.at(), gap.note());
      if (element instanceof StreamElement.CopiedBatch batch) return batch.withSeqNr(batch.seqNr() + shift);
      if (element instanceof StreamElement.Note note) return new StreamElement.Note(note.seqNr() + shift, note.token(), note.clusterTime(), note.note());
      StreamElement.SnapshotEnd end = (StreamElement.SnapshotEnd) element;
      return new StreamElement.SnapshotEnd(end.seqNr() + shift, end.at(), end.note());
    }

    /**
     * Hands on the chunk's rows that no event touched, at the position of the element before them,
     * then {@code next}, the first element past the high watermark.
     */
    private void handOnRows(StreamElement next) {
      if (lastToken == null) {
        abandon("no stream position to hand the rows on at");
        emit(out, renumbered(next));
        return;
      }
      ChunkWindow done = chunk;
      chunk = null;
      List<Document> rows = done.remaining();
      List<StreamElement> elements = new ArrayList<>(rows.size() + 1);
      for (Document row : rows) {
        elements.add(ChangeEnvelope.incrementalSnapshot(++lastSeqNr, request.namespace(), lastToken, lastTime, row));
      }
      long lastRow = lastSeqNr;
      shift += rows.size();
      StreamElement following = renumbered(next);
      if (!(following instanceof StreamElement.Heartbeat)) lastSeqNr = following.seqNr();
      elements.add(following);
      List<Document> read = done.rows();
      chunkRows = read.size();
      chunkEnd = read.isEmpty() ? after : read.get(read.size() - 1).toBsonDocument().get("_id");
      lastChunk = read.size() < settings.chunkSize;
      progress.chunkRead(read.size(), rows.size());
      StreamMdc.debug(log, stream, "stream '{}': chunk {} of {}: {} read in [{}, {}], {} handed on, {} superseded by events", stream, chunks + 1,
          request.namespace(), read.size(), done.low(), done.high(), rows.size(), read.size() - rows.size());
      emitMultiple(out, elements.iterator());
      if (rows.isEmpty()) chunkDone();
      else waitingFor = lastRow;
    }

    private void abandon(String why) {
      if (chunk == null) return;
      StreamMdc.info(log, stream, "stream '{}': {}: {} in the chunk's window; reading the chunk again", stream, request.describe(), why);
      chunk = null;
    }

    /** The chunk's rows are done (the window's safe position passed them): record the progress. */
    private void chunkDone() {
      waitingFor = -1;
      copied += chunkRows;
      chunks++;
      after = chunkEnd;
      busy = true;
      CompletionStage<Void> write = lastChunk
          ? signals.finish(request, SignalCollection.DONE, copied, chunks, "done: " + copied + " documents in " + chunks + " chunks")
          : signals.progress(request, after, copied, chunks);
      progress.chunkDone(copied, chunks);
      write.whenComplete((done, error) -> onWritten.invoke(error));
    }

    private void written(Throwable error) {
      busy = false;
      if (error != null) {
        // The progress stays behind: the chunk is read again (the watermarks make that safe).
        StreamMdc.warn(log, stream, "stream '{}': {}: could not record the progress ({}); going on", stream, request.describe(),
            Errors.summary(Errors.unwrap(error)));
      }
      if (lastChunk) {
        StreamMdc.info(log, stream, "stream '{}': {} done: {} documents in {} chunks", stream, request.describe(), copied, chunks);
        note("done: " + copied + " documents in " + chunks + " chunks");
        progress.finished();
        clear();
      }
    }
  }
}
