package io.tidemark.source;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
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
 */
final class SnapshotScan {
  private static final Logger log = LoggerFactory.getLogger(SnapshotScan.class);

  private SnapshotScan() {}

  /** Where the scan stands between batches. */
  private record Cursor(BsonValue after, boolean exhausted) {}

  static Source<Document, NotUsed> create(
      String stream, MongoClient client, ChangeStreamTarget target, BsonValue after, SnapshotSettings settings,
      SnapshotProgress progress, Materializer materializer) {
    MongoCollection<Document> collection = client.getDatabase(target.database()).getCollection(target.collection());
    return Source.unfoldAsync(new Cursor(after, false), cursor -> cursor.exhausted()
            ? CompletableFuture.completedFuture(Optional.<Pair<Cursor, List<Document>>>empty())
            : batch(collection, cursor.after(), settings.batchSize, materializer).thenApply(documents -> {
              if (documents.isEmpty()) return Optional.<Pair<Cursor, List<Document>>>empty();
              BsonValue last = documents.get(documents.size() - 1).toBsonDocument().get("_id");
              if (progress.logDue(settings.progressInterval)) {
                log.info("snapshot - {}: {}, after _id {}", stream, progress.describe(),
                    new org.bson.BsonDocument("_id", last).toJson());
              }
              return Optional.of(Pair.create(new Cursor(last, documents.size() < settings.batchSize), documents));
            }))
        .mapConcat(documents -> documents);
  }

  private static CompletionStage<List<Document>> batch(
      MongoCollection<Document> collection, BsonValue after, int size, Materializer materializer) {
    var find = after == null ? collection.find() : collection.find(Filters.gt("_id", after));
    return Source.fromPublisher(find.sort(Sorts.ascending("_id")).limit(size).batchSize(size))
        .runWith(Sink.seq(), materializer);
  }
}
