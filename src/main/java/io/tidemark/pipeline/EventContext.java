package io.tidemark.pipeline;

import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * The context that travels beside each element through the user's stages: which event the element
 * came from, and — for Tidemark's own bookkeeping — whether it is the event's last element.
 *
 * <p>The rule the window relies on: an event is done when its <em>last</em> element leaves the
 * last stage. Every stage emits, for each element it takes, its outputs in order, and the last
 * output carries the input's context; a stage that emits nothing for an element (a filter, an
 * empty {@code mapConcat}, a dead letter) emits a <em>skip</em> in its place, which passes the
 * stages behind it untouched. So every event ends in exactly one last element, whatever the stages
 * did to it, and no event is done before all of its elements are. Pass the context through
 * unchanged; the pipeline builder's operators and {@code via} do.
 */
public final class EventContext {
  /** What an element stands for. */
  enum Kind {
    /** A value the stages work on. */
    VALUE,
    /** No value: the stages dropped it (filtered, empty fan-out, dead letter). Done when it leaves. */
    SKIPPED,
    /** Not worked on because the run is stopping after a failure: not done, replayed next run. */
    ABANDONED,
    /** A stage failed on it: not done; the run stops and replays it. */
    FAILED
  }

  private final ChangeEnvelope envelope;
  private final RunContext run;
  private final boolean last;
  private final Kind kind;
  private final Throwable failure;

  private EventContext(ChangeEnvelope envelope, RunContext run, boolean last, Kind kind, Throwable failure) {
    this.envelope = envelope;
    this.run = run;
    this.last = last;
    this.kind = kind;
    this.failure = failure;
  }

  static EventContext of(ChangeEnvelope envelope, RunContext run) {
    return new EventContext(envelope, run, true, Kind.VALUE, null);
  }

  /** The event this context stands for, whatever the stages have made of it. */
  ChangeEnvelope envelope() {
    return envelope;
  }

  RunContext run() {
    return run;
  }

  /** Whether this is the event's last element (at every fan-out so far). */
  boolean last() {
    return last;
  }

  Kind kind() {
    return kind;
  }

  boolean isValue() {
    return kind == Kind.VALUE;
  }

  Throwable failure() {
    return failure;
  }

  /** The context of an output that more outputs of the same element follow. */
  EventContext notLast() {
    return last ? new EventContext(envelope, run, false, kind, failure) : this;
  }

  /** The same position, standing for no value: the stages dropped it. */
  EventContext skipped() {
    return kind == Kind.SKIPPED ? this : new EventContext(envelope, run, last, Kind.SKIPPED, null);
  }

  /** The same position, carrying values again (a batch that ends in a skip still carries the values before it). */
  EventContext asValue() {
    return kind == Kind.VALUE ? this : new EventContext(envelope, run, last, Kind.VALUE, null);
  }

  EventContext abandoned() {
    return new EventContext(envelope, run, last, Kind.ABANDONED, null);
  }

  EventContext failed(Throwable cause) {
    return new EventContext(envelope, run, last, Kind.FAILED, cause);
  }

  public long seqNr() {
    return envelope.seqNr();
  }

  public BsonTimestamp clusterTime() {
    return envelope.clusterTime();
  }

  public BsonDocument documentKey() {
    return envelope.documentKey();
  }

  public BsonDocument resumeToken() {
    return envelope.resumeToken();
  }

  @Override
  public String toString() {
    return "EventContext(#" + seqNr() + " " + documentKey() + (last ? "" : " part") + (kind == Kind.VALUE ? "" : " " + kind) + ")";
  }
}
