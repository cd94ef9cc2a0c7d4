package io.tidemark.window;

import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.StreamElement;
import java.time.Duration;
import java.time.Instant;
import org.bson.BsonDocument;

/**
 * One element of the in-flight window, for diagnostics: which event (or gap, or a snapshot's end),
 * whether it is done, since when it waits.
 */
public record InFlightEvent(StreamElement element, boolean completed, Instant admittedAt) {

  public long seqNr() {
    return element.seqNr();
  }

  /** The event, or null for a position without one (a gap, a snapshot's end). */
  public ChangeEnvelope envelope() {
    return element instanceof ChangeEnvelope envelope ? envelope : null;
  }

  public BsonDocument resumeToken() {
    return element instanceof ChangeEnvelope envelope ? envelope.resumeToken() : null;
  }

  public BsonDocument documentKey() {
    return element instanceof ChangeEnvelope envelope ? envelope.documentKey() : null;
  }

  public Duration age(Instant now) {
    return Duration.between(admittedAt, now);
  }

  @Override
  public String toString() {
    String what = element instanceof ChangeEnvelope envelope
        ? envelope.operationType() + " " + envelope.documentKey()
        : element.getClass().getSimpleName().toLowerCase(java.util.Locale.ROOT);
    return "#" + seqNr() + " " + what + (completed ? " done" : " pending") + " since " + admittedAt;
  }
}
