package io.tidemark.source;

import io.tidemark.connection.MongoConnector;

import akka.NotUsed;
import akka.stream.Attributes;
import akka.stream.alpakka.mongodb.javadsl.MongoSource;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.connection.CommandTags;
import io.tidemark.Errors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change stream of one target as a source of {@link StreamElement}s: the driver's
 * {@code watch()} publisher through Alpakka's {@code MongoSource}, run by the source's one stage
 * ({@link ReopeningSource}), opened at the initial position and, after a resumable
 * error, reopened with capped backoff from the last token it delivered downstream — so a restart
 * neither skips nor repeats an event. Beyond that it:
 *
 * <ul>
 *   <li>hands faults it cannot resume from (history lost, an invalid token, an oversize event) to
 *       the {@link Recovery} when the policy allows, and reopens where it says; otherwise fails;
 *   <li>after an {@code invalidate} (the collection was dropped or renamed) ends, or, with
 *       {@code follow-collection}, reopens with {@code startAfter} the invalidate;
 *   <li>joins the fragments of a split event ({@code $changeStreamSplitLargeEvent}) into one;
 *   <li>when the stream is quiet, adds heartbeats: the server's postBatchResumeToken, so that a
 *       checkpoint can follow the oplog without events;
 *   <li>at a {@link ResumePosition.Snapshot} position, first copies the collection's documents in
 *       {@code _id} order ({@link SnapshotScan}), then a marker that the copy is complete, then
 *       opens the change stream at the snapshot's operation time (unless the startup mode is
 *       {@code snapshot-only}: then it ends). A failure during the copy goes on after the last
 *       {@code _id} delivered.
 * </ul>
 *
 * <p>One stage, {@link ReopeningSource} (opening and reopening after faults), over the open cursor or
 * {@link SnapshotCopy} (a copy before the stream); it asks {@link Heartbeats} for a quiet stream's
 * position and {@link Numbering} for sequence numbers (split events joined). Internal to the pipeline.
 */
@akka.annotation.InternalApi
public final class ChangeStreamSource {
  private static final Logger log = LoggerFactory.getLogger(ChangeStreamSource.class);

  private ChangeStreamSource() {}

  /** Everything a change-stream source is made of. */
  public record Definition(
      String stream,
      MongoClient client,
      ChangeStreamTarget target,
      List<Bson> pipeline,
      FullDocument fullDocument,
      SourceSettings settings,
      FaultSettings faults,
      Supplier<CompletionStage<ResumePosition>> initialPosition,
      Predicate<Throwable> restartable,
      Recovery recovery,
      PositionProbe heartbeat,
      SnapshotSettings snapshot,
      SnapshotProgress progress) {}

  /**
   * Opens the change stream at a position, with the stream's pipeline, as a source: Alpakka's MongoSource over
   * watch() (tests drive the stage with made-up ones).
   */
  interface Opener {
    Source<ChangeStreamDocument<Document>, NotUsed> open(ResumePosition position, List<Bson> pipeline);
  }

  public static Source<StreamElement, NotUsed> create(Definition definition) {
    return create(definition, (position, pipeline) ->
        // Asked for in Akka's default batches of 16, the driver's publisher hands over a few events per request: each
        // request and each wake-up costs the consumer CPU per event (3-4 µs an event less with 256, docs/benchmarks.md).
        MongoSource.create(CommandTags.forStream(definition.stream(), publisher(definition, position, pipeline)))
            .addAttributes(Attributes.inputBuffer(definition.settings().demand, definition.settings().demand)));
  }

  /** The source over any way of opening the stream (tests drive it with a made-up one). */
  static Source<StreamElement, NotUsed> create(Definition definition, Opener opener) {
    return Source.fromGraph(new ReopeningSource(definition, opener));
  }

  private static ChangeStreamPublisher<Document> publisher(Definition definition, ResumePosition position, List<Bson> pipeline) {
    ChangeStreamPublisher<Document> publisher =
        definition.target()
            .watch(definition.client(), pipeline)
            .batchSize(definition.settings().batchSize)
            .maxAwaitTime(definition.settings().maxAwaitTime.toMillis(), TimeUnit.MILLISECONDS);
    if (definition.fullDocument() != null) publisher = publisher.fullDocument(definition.fullDocument());
    return position.applyTo(publisher);
  }
}
