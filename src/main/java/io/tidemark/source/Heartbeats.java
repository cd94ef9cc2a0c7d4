package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Errors;
import io.tidemark.connection.MongoConnector;
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
 * While the stream is quiet, the server's position after it, every heartbeat interval: read with
 * the stream's own pipeline and options (so it never passes an event the stream would deliver),
 * and only when it moves past the stream's position. {@link ReopeningSource} probes, every heartbeat
 * interval without an element, one probe at a time, on the blocking dispatcher.
 */
final class Heartbeats {
  private static final Logger log = LoggerFactory.getLogger(Heartbeats.class);

  private Heartbeats() {}

  /**
   * The server's position after {@code after}, read with the same pipeline and options as the
   * stream itself (so it never passes an event the stream would deliver), when it moves past it.
   */
  static Optional<BsonDocument> probe(ChangeStreamSource.Definition definition, ResumePosition after, List<Bson> pipeline) {
    try {
      Optional<BsonDocument> token = definition.heartbeat().positionAfter(after, pipeline, definition.fullDocument());
      return token.filter(t -> movesPast(t, after));
    } catch (RuntimeException e) {
      StreamMdc.debug(log, definition.stream(), "stream '{}': heartbeat probe failed: {}", definition.stream(), Errors.summary(e));
      return Optional.empty();
    }
  }

  /** Whether a heartbeat token stands after the position (by cluster time; one at the same time may be before it). */
  static boolean movesPast(BsonDocument token, ResumePosition position) {
    org.bson.BsonTimestamp time = ResumeTokens.clusterTime(token);
    org.bson.BsonTimestamp at = position.clusterTime();
    return time != null && (at == null ? !(position instanceof ResumePosition.ResumeAfter resume && token.equals(resume.token()))
        : time.compareTo(at) > 0);
  }
}
