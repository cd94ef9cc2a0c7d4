package io.tidemark.pipeline;

import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * The context that travels beside each element through the user's {@code FlowWithContext}
 * stages. When an element leaves the last stage, its context tells the window which event is done.
 * Pass it through unchanged.
 */
public final class EventContext {
  private final ChangeEnvelope envelope;

  private EventContext(ChangeEnvelope envelope) {
    this.envelope = envelope;
  }

  static EventContext of(ChangeEnvelope envelope) {
    return new EventContext(envelope);
  }

  /** The event this context stands for, whatever the stages have made of it. */
  ChangeEnvelope envelope() {
    return envelope;
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
    return "EventContext(#" + seqNr() + " " + documentKey() + ")";
  }
}
