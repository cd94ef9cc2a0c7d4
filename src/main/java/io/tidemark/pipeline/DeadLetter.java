package io.tidemark.pipeline;

import io.tidemark.source.ChangeEnvelope;
import java.time.Instant;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * An event a stage gave up on under the {@code dead-letter} policy: the event, where it was in the
 * stream, and why it failed. The pipeline went on past it; nothing else records it.
 */
public record DeadLetter(
    String stream,
    BsonDocument resumeToken,
    BsonTimestamp clusterTime,
    String operationType,
    BsonDocument documentKey,
    BsonDocument event,
    String error,
    int attempts,
    Instant failedAt) {

  static DeadLetter of(String stream, ChangeEnvelope envelope, Throwable error, int attempts) {
    return new DeadLetter(
        stream, envelope.resumeToken(), envelope.clusterTime(), envelope.operationType(), envelope.documentKey(),
        envelope.eventDocument(), io.tidemark.Errors.summary(error), attempts, Instant.now());
  }
}
