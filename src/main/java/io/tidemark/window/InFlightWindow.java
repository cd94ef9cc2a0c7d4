package io.tidemark.window;

import io.tidemark.source.StreamElement;
import java.util.ArrayList;
import java.util.List;

/**
 * The events admitted and not yet behind the low watermark, in a ring of fixed size. Events are
 * admitted in sequence order and may complete in any order; the <em>safe</em> event is the newest
 * one before which every event has completed. A heartbeat (a quiet stream's position, no event)
 * takes no slot: it trails the newest admitted event, and once that event is safe, the heartbeat
 * is the safe position. Only the newest heartbeat is kept. Single-threaded: it lives inside one
 * stage.
 */
final class InFlightWindow {
  private final int capacity;
  private final StreamElement[] envelopes;
  private final boolean[] completed;
  private final long[] admittedAtMillis;
  private long safeSeq;
  private long admittedSeq;
  private StreamElement safe;
  /** The newest heartbeat, after event #heartbeatSeq; null once a newer event is safe. */
  private StreamElement.Heartbeat heartbeat;
  private long heartbeatSeq = -1;
  /** Cluster time of the newest position admitted (event or heartbeat); null before the first. */
  private org.bson.BsonTimestamp newestTime;

  InFlightWindow(int capacity) {
    if (capacity <= 0) throw new IllegalArgumentException("window capacity must be positive: " + capacity);
    this.capacity = capacity;
    this.envelopes = new StreamElement[capacity];
    this.completed = new boolean[capacity];
    this.admittedAtMillis = new long[capacity];
  }

  boolean hasRoom() {
    return admittedSeq - safeSeq < capacity;
  }

  void admit(StreamElement envelope) {
    if (envelope.seqNr() != admittedSeq + 1) {
      throw new IllegalStateException(
          "event #" + envelope.seqNr() + " admitted after #" + admittedSeq + ": sequence numbers must have no gaps");
    }
    if (!hasRoom()) throw new IllegalStateException("window full: " + capacity + " events in flight");
    int slot = slot(envelope.seqNr());
    envelopes[slot] = envelope;
    completed[slot] = false;
    admittedAtMillis[slot] = System.currentTimeMillis();
    admittedSeq = envelope.seqNr();
    if (envelope.clusterTime() != null && (newestTime == null || envelope.clusterTime().compareTo(newestTime) > 0)) {
      newestTime = envelope.clusterTime();
    }
  }

  /**
   * Takes a heartbeat after the newest admitted event, when it moves past every position admitted
   * so far (a heartbeat at or behind them would move a checkpoint backwards: it is dropped).
   *
   * @return whether it was taken
   */
  boolean heartbeat(StreamElement.Heartbeat envelope) {
    org.bson.BsonTimestamp time = envelope.clusterTime();
    if (envelope.seqNr() != admittedSeq || time == null || (newestTime != null && time.compareTo(newestTime) <= 0)) return false;
    heartbeat = envelope;
    heartbeatSeq = admittedSeq;
    newestTime = time;
    return true;
  }

  /**
   * The newest position a checkpoint may take: the trailing heartbeat when everything before it is
   * done, else the safe event; null before either.
   */
  StreamElement safePosition() {
    return heartbeat != null && heartbeatSeq == safeSeq ? heartbeat : safe;
  }

  /**
   * Marks one event done. A repeated completion is ignored; a completion of an event that was
   * never admitted is a bug in the stages and is refused.
   *
   * @return the completed envelope, or null when it was already complete
   */
  StreamElement complete(long seqNr) {
    if (seqNr > admittedSeq || seqNr <= 0) {
      throw new IllegalStateException(
          "completion of event #" + seqNr + " that was never admitted (admitted up to #" + admittedSeq + ")");
    }
    if (seqNr <= safeSeq) return null;
    int slot = slot(seqNr);
    if (completed[slot]) return null;
    completed[slot] = true;
    StreamElement envelope = envelopes[slot];
    while (safeSeq < admittedSeq && completed[slot(safeSeq + 1)]) {
      safeSeq++;
      int s = slot(safeSeq);
      safe = envelopes[s];
      envelopes[s] = null;
    }
    if (heartbeat != null && heartbeatSeq < safeSeq) heartbeat = null;
    return envelope;
  }

  /** Every event up to and including this one has completed. */
  long safeSeq() {
    return safeSeq;
  }

  /** The envelope at {@link #safeSeq()}, or null before the first one completes. */
  StreamElement safe() {
    return safe;
  }

  long admittedSeq() {
    return admittedSeq;
  }

  int inFlight() {
    return (int) (admittedSeq - safeSeq);
  }

  int capacity() {
    return capacity;
  }

  /** The events after the safe one, oldest first, with whether each has completed. */
  List<InFlightEvent> snapshot() {
    List<InFlightEvent> events = new ArrayList<>(inFlight());
    for (long seq = safeSeq + 1; seq <= admittedSeq; seq++) {
      int slot = slot(seq);
      events.add(new InFlightEvent(envelopes[slot], completed[slot], java.time.Instant.ofEpochMilli(admittedAtMillis[slot])));
    }
    return events;
  }

  private int slot(long seqNr) {
    return (int) (seqNr % capacity);
  }
}
