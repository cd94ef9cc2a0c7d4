package io.tidemark.source;

import io.tidemark.StreamMdc;
import io.tidemark.connection.CommandTags;

import io.tidemark.connection.MongoConnector;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.javadsl.Source;
import com.mongodb.ClientSessionOptions;
import com.mongodb.ReadConcern;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.ClientSession;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The documents of one collection in {@code _id} order, read in batches: each query asks for the
 * next {@code batch-size} documents with {@code _id} greater than the last one read, sorted by
 * {@code _id} (an index walk on every MongoDB), so a copy can go on after any {@code _id}.
 *
 * <p>{@code _id > x} compares within one BSON type (numbers count as one): a collection whose
 * {@code _id}s mix types (say numbers and strings) is copied only as far as the type of the
 * first {@code _id}. See docs/snapshot.md.
 *
 * <p>Reads are majority-committed ({@code readConcern: majority}) and causally after the snapshot's
 * time ({@code afterClusterTime}, in a causally consistent session): a member that has not yet
 * applied every write up to that time waits for it, so no write before the stream's start is
 * missing from the copy, and no write that an election could roll back is copied. On a server
 * without sessions the copy reads without {@code afterClusterTime} (a single member has applied
 * everything it reports).
 */
final class SnapshotScan {
  private static final Logger log = LoggerFactory.getLogger(SnapshotScan.class);

  private SnapshotScan() {}

  /** Where the scan stands between batches. */
  private record Cursor(BsonValue after, boolean exhausted) {}

  static Source<List<Document>, NotUsed> create(
      String stream, MongoClient client, com.mongodb.MongoNamespace namespace, BsonTimestamp at, BsonValue after, SnapshotSettings settings,
      SnapshotProgress progress) {
    return create(stream, client, namespace, at, new ResumePosition.Chunk(null, null, after, false), settings, progress);
  }

  /**
   * The documents of one chunk still to copy, in batches as they are read: in its range, after its {@code _id} (from its
   * {@code min} when none). Batches, not documents, so that the copy's layers of sources (each a substream, whose every
   * element costs the interpreter an asynchronous hand-over each way) are crossed once a batch; the copy hands on single
   * documents only at its end (see {@link SnapshotCopy}).
   */
  static Source<List<Document>, NotUsed> create(
      String stream, MongoClient client, com.mongodb.MongoNamespace namespace, BsonTimestamp at, ResumePosition.Chunk chunk,
      SnapshotSettings settings, SnapshotProgress progress) {
    BsonValue after = chunk.after();
    MongoCollection<Document> collection = client.getDatabase(namespace.getDatabaseName()).getCollection(namespace.getCollectionName())
        .withReadConcern(ReadConcern.MAJORITY);
    CompletionStage<Optional<ClientSession>> session = causalSession(stream, client, at);
    return Source.completionStageSource(session.thenApply(afterTime -> Source.unfoldAsync(new Cursor(after, false), cursor -> cursor.exhausted()
            ? CompletableFuture.completedFuture(Optional.<Pair<Cursor, List<Document>>>empty())
            : batch(stream, collection, afterTime, chunk, cursor.after(), settings.batchSize).thenApply(documents -> {
              if (documents.isEmpty()) return Optional.<Pair<Cursor, List<Document>>>empty();
              BsonValue last = DocumentIds.of(documents.get(documents.size() - 1));
              if (progress.logDue(settings.progressInterval)) {
                StreamMdc.info(log, stream, "snapshot - {}: {}, after _id {} of {}", stream, progress.describe(),
                    new org.bson.BsonDocument("_id", last).toJson(), namespace);
              }
              return Optional.of(Pair.create(new Cursor(last, documents.size() < settings.batchSize), documents));
            }))
        // The next batch is read while this one goes downstream: one cursor's copy waits for the server only once per batch it outruns.
        .buffer(1, akka.stream.OverflowStrategy.backpressure())
        .watchTermination((mat, done) -> {
          done.whenComplete((ok, error) -> afterTime.ifPresent(ClientSession::close));
          return NotUsed.getInstance();
        })))
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /** A causally consistent session whose reads wait for the snapshot's time; empty when the server has no sessions. */
  static CompletionStage<Optional<ClientSession>> causalSession(String stream, MongoClient client, BsonTimestamp at) {
    return MongoConnector.first(CommandTags.forStream(stream, client.startSession(ClientSessionOptions.builder().causallyConsistent(true).build())))
        .<Optional<ClientSession>>thenApply(session -> {
          session.advanceOperationTime(at);
          return Optional.of(session);
        })
        .exceptionally(error -> {
          StreamMdc.info(log, stream, "stream '{}': the server has no sessions ({}); the copy reads without afterClusterTime", stream,
              io.tidemark.Errors.summary(io.tidemark.Errors.unwrap(error)));
          return Optional.empty();
        });
  }

  static CompletionStage<List<Document>> batch(
      String stream, MongoCollection<Document> collection, Optional<ClientSession> session, ResumePosition.Chunk chunk, BsonValue after,
      int size) {
    List<org.bson.conversions.Bson> conditions = new java.util.ArrayList<>(2);
    if (after != null) conditions.add(Filters.gt("_id", after));
    else if (chunk.min() != null) conditions.add(Filters.gte("_id", chunk.min()));
    if (chunk.max() != null) conditions.add(Filters.lt("_id", chunk.max()));
    org.bson.conversions.Bson filter = conditions.isEmpty() ? new Document() : conditions.size() == 1 ? conditions.get(0) : Filters.and(conditions);
    var find = session.isPresent() ? collection.find(session.get(), filter) : collection.find(filter);
    // Collected by a plain subscriber, not a stream of its own, into which each document read would cross as a message to its actor.
    return MongoConnector.all(CommandTags.forStream(stream, find.sort(Sorts.ascending("_id")).limit(size).batchSize(size)));
  }
}
