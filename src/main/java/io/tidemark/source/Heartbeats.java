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
 * and only when it moves past the stream's position.
 */
final class Heartbeats {
  private static final Logger log = LoggerFactory.getLogger(Heartbeats.class);

  private Heartbeats() {}

  /** While the stream is quiet, the server's position after the last token, every heartbeat interval. */
  static Source<Incoming, NotUsed> heartbeats(ChangeStreamSource.Definition definition, SourceState state, Executor blocking) {
    Duration interval = definition.faults().heartbeatInterval;
    return Source.tick(interval, interval, NotUsed.getInstance())
        .filter(tick -> state.current() != null && !(state.current() instanceof ResumePosition.Snapshot)
            && System.nanoTime() - state.lastDeliveryNanos >= interval.toNanos())
        .mapAsync(1, tick -> {
          long taken = state.taken;
          // After the newest heartbeat while quiet: resuming after the last event would fail once it left the oplog.
          ResumePosition after = state.probeFrom();
          List<Bson> pipeline = ReopeningSource.pipeline(definition, state);
          return CompletableFuture.supplyAsync(() -> probe(definition, after, pipeline), blocking)
              .thenApply(token -> token.map(t -> (Incoming) new Incoming.Heartbeat(t, taken)));
        })
        .filter(Optional::isPresent)
        .map(Optional::get)
        .mapMaterializedValue(cancellable -> NotUsed.getInstance());
  }

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
