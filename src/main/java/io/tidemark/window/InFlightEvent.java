package io.tidemark.window;

import io.tidemark.source.ChangeEnvelope;
import java.time.Duration;
import java.time.Instant;
import org.bson.BsonDocument;

/** One event of the in-flight window, for diagnostics: which event, whether it is done, since when it waits. */
public record InFlightEvent(ChangeEnvelope envelope, boolean completed, Instant admittedAt) {

  public long seqNr() {
    return envelope.seqNr();
  }

  public BsonDocument resumeToken() {
    return envelope.resumeToken();
  }

  public BsonDocument documentKey() {
    return envelope.documentKey();
  }

  public Duration age(Instant now) {
    return Duration.between(admittedAt, now);
  }

  @Override
  public String toString() {
    return "#" + seqNr() + " " + envelope.operationType() + " " + documentKey() + (completed ? " done" : " pending")
        + " since " + admittedAt;
  }
}
