package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.javadsl.Source;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A chunk's copy by copy workers ({@link ChunkCopier}), as the consumer sees it: one ask per batch,
 * the next asked for only once the answer came (so a chunk has at most one batch in flight), each
 * answer handed on to become one position of the copy; the chunk ends with a batch shorter than the
 * batch size.
 */
final class ChunkBatches {
  private static final Logger log = LoggerFactory.getLogger(ChunkBatches.class);

  private ChunkBatches() {}

  /** Where the chunk stands between asks. */
  private record Cursor(BsonValue after, boolean exhausted) {}

  /** The batches of chunk {@code index} ({@code chunk}) of {@code namespace} still to copy, from where the chunk stands. */
  static Source<ChunkCopier.Copied, NotUsed> of(
      ChunkCopier copier, String stream, com.mongodb.MongoNamespace namespace, BsonTimestamp at, int index, ResumePosition.Chunk chunk,
      SnapshotSettings settings, SnapshotProgress progress, BsonDocument shardKey) {
    int batchSize = settings.batchSize;
    return Source.unfoldAsync(new Cursor(chunk.after(), false), cursor -> {
      if (cursor.exhausted()) return CompletableFuture.completedFuture(Optional.<Pair<Cursor, ChunkCopier.Copied>>empty());
      ChunkCopier.Batch batch = new ChunkCopier.Batch(stream, namespace, at, index, chunk.min(), chunk.max(), cursor.after(), batchSize, shardKey);
      return copier.copy(batch).thenApply(copied -> {
        if (copied.count() == 0) return Optional.<Pair<Cursor, ChunkCopier.Copied>>empty();
        if (progress.logDue(settings.progressInterval)) {
          StreamMdc.info(log, stream, "snapshot - {}: {}, after _id {} of {} (by the copy workers)", stream, progress.describe(),
              new BsonDocument("_id", copied.last()).toJson(), namespace);
        }
        return Optional.of(Pair.create(new Cursor(copied.last(), copied.exhausts(batch)), copied));
      });
    });
  }
}
