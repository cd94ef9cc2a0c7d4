package io.tidemark.source;

import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.FullDocument;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * Opens short-lived cursors on a stream's target with the sync driver: to check a stored position
 * before the pipeline starts from it, and for heartbeats. Reads a quiet stream's postBatchResumeToken: opens the same change stream after the last token,
 * and when it has nothing to return, takes the token the server says it has read up to. Saved as
 * a heartbeat checkpoint, it keeps a quiet collection's position from ageing out of the oplog while
 * other collections keep writing to it. Uses the sync driver, the only API that exposes the token.
 * The client is not the probe's: the streams of a deployment share it.
 */
@akka.annotation.InternalApi
public final class CursorProbe implements PositionProbe {
  private final MongoClient client;
  private final ChangeStreamTarget target;
  private final List<Bson> pipeline;

  public CursorProbe(MongoClient client, ChangeStreamTarget target, List<Bson> pipeline) {
    this.client = client;
    this.target = target;
    this.pipeline = pipeline;
  }

  /**
   * The server's position after {@code after}, when no event follows it yet; empty otherwise.
   * Opened with the stream's own pipeline and full-document option, so that it sees every event
   * the stream would deliver. Blocks briefly.
   */
  @Override
  public Optional<BsonDocument> positionAfter(ResumePosition after, List<Bson> streamPipeline, FullDocument fullDocument) {
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = open(after, streamPipeline, fullDocument)) {
      if (cursor.tryNext() != null) return Optional.empty();
      return Optional.ofNullable(cursor.getResumeToken());
    }
  }

  /**
   * Opens the stream at {@code position} and reads one batch, as the pipeline will: throws what
   * the server says about the position (history lost, an invalid token) before any event flows.
   * Blocks briefly.
   */
  public void validate(ResumePosition position) {
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = open(position, pipeline, null)) {
      cursor.tryNext();
    }
  }

  private MongoChangeStreamCursor<ChangeStreamDocument<Document>> open(
      ResumePosition position, List<Bson> stages, FullDocument fullDocument) {
    var watch = target.watch(client, stages).maxAwaitTime(50, TimeUnit.MILLISECONDS).batchSize(1);
    if (fullDocument != null) watch = watch.fullDocument(fullDocument);
    if (position instanceof ResumePosition.ResumeAfter resume) watch = watch.resumeAfter(resume.token());
    else if (position instanceof ResumePosition.StartAfter start) watch = watch.startAfter(start.token());
    else if (position instanceof ResumePosition.StartAtOperationTime at) watch = watch.startAtOperationTime(at.time());
    else if (position instanceof ResumePosition.Snapshot snapshot) watch = watch.startAtOperationTime(snapshot.at());
    return watch.cursor();
  }
}
