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
  private final long seqNr;
  private final BsonTimestamp clusterTime;
  private final BsonDocument documentKey;

  private EventContext(long seqNr, BsonTimestamp clusterTime, BsonDocument documentKey) {
    this.seqNr = seqNr;
    this.clusterTime = clusterTime;
    this.documentKey = documentKey;
  }

  static EventContext of(ChangeEnvelope envelope) {
    return new EventContext(envelope.seqNr(), envelope.clusterTime(), envelope.documentKey());
  }

  public long seqNr() {
    return seqNr;
  }

  public BsonTimestamp clusterTime() {
    return clusterTime;
  }

  public BsonDocument documentKey() {
    return documentKey;
  }

  @Override
  public String toString() {
    return "EventContext(#" + seqNr + " " + documentKey + ")";
  }
}
