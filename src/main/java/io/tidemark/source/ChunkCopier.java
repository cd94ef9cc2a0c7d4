package io.tidemark.source;

import com.mongodb.MongoNamespace;
import com.mongodb.reactivestreams.client.ClientSession;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.mongodb.ReadConcern;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;

/**
 * Copies the batches of a snapshot's chunks somewhere else than in the stream's consumer — on the
 * nodes of a cluster ({@code ShardedCopyWorkers}): the consumer asks for one batch of a chunk at a
 * time and turns each answer into one position of the copy, while the documents themselves go
 * through the workers' handler on the node that read them. Set with
 * {@link SnapshotSettings#withCopyWorkers(ChunkCopier)}; see docs/snapshot.md.
 *
 * <p>A batch is identified by its chunk's range and the {@code _id} it goes on after: asking for it
 * again (after a lost answer, or on another node) copies the same documents again, which the
 * handler must absorb (at least once, as for every copy).
 */
public interface ChunkCopier {

  /**
   * Copies the next batch of a chunk: up to {@code batchSize} documents of {@code namespace} with
   * {@code _id} in [{@code min}, {@code max}) and after {@code after} (null: from {@code min}), in
   * {@code _id} order, read as the local copy reads (majority, after the snapshot's time {@code at}).
   *
   * @return the last {@code _id} copied and how many; none copied: the chunk is exhausted
   */
  CompletionStage<Copied> copy(Batch batch);

  /**
   * One batch of a chunk to copy: chunk {@code chunk} of {@code namespace}'s copy at {@code at} by
   * stream {@code stream}, whose documents are keyed with {@code shardKey} (null: by {@code _id}).
   */
  record Batch(String stream, MongoNamespace namespace, BsonTimestamp at, int chunk, BsonValue min, BsonValue max, BsonValue after,
               int batchSize, BsonDocument shardKey) {
    public Batch {
      Objects.requireNonNull(stream, "stream");
      Objects.requireNonNull(namespace, "namespace");
      Objects.requireNonNull(at, "at");
      if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, was " + batchSize);
    }

    /** For the log: {@code shop.orders chunk 3 after {"_id": 41733}}. */
    public String describe() {
      return namespace.getFullName() + " chunk " + chunk + (after == null ? " from its start" : " after " + new BsonDocument("_id", after).toJson());
    }
  }

  /** What a batch copied: {@code count} documents, the last of them {@code last} (null when none: the chunk is exhausted). */
  record Copied(BsonValue last, int count) {
    public Copied {
      if (count < 0 || (count == 0) != (last == null)) throw new IllegalArgumentException("a batch copied " + count + " documents, the last " + last);
    }

    /** Whether the chunk has no documents after this batch: none copied, or fewer than asked for. */
    public boolean exhausts(Batch batch) {
      return count < batch.batchSize();
    }
  }

  /** Reads one batch as the local copy does (majority, causally after the snapshot's time, {@code _id} order within the range). */
  static CompletionStage<List<Document>> read(MongoClient client, Batch batch) {
    MongoCollection<Document> collection = client.getDatabase(batch.namespace().getDatabaseName())
        .getCollection(batch.namespace().getCollectionName()).withReadConcern(ReadConcern.MAJORITY);
    ResumePosition.Chunk chunk = new ResumePosition.Chunk(batch.min(), batch.max(), batch.after(), false);
    return SnapshotScan.causalSession(batch.stream(), client, batch.at()).thenCompose(session ->
        SnapshotScan.batch(batch.stream(), collection, session, chunk, batch.after(), batch.batchSize())
            .whenComplete((documents, error) -> session.ifPresent(ClientSession::close)));
  }

  /** A document a batch read, as the envelope the handler sees: a copy, as the consumer's stages would see it. */
  static ChangeEnvelope envelope(Batch batch, Document document) {
    return ChangeEnvelope.snapshot(0, batch.namespace(), batch.at(), document, batch.shardKey());
  }
}
