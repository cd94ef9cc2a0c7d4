package io.tidemark.source;

import com.mongodb.MongoNamespace;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Errors;
import io.tidemark.connection.CommandTags;
import io.tidemark.connection.MongoConnector;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * A collection's chunked copy: its split into contiguous {@code _id} ranges when the copy starts,
 * and the position of every copied document in the order the chunks' documents are merged.
 *
 * <p>Integer {@code _id}s that fill their span densely are split into equal value ranges (no read);
 * other boundaries are {@code _id} quantiles of a {@code $sample} (where the server has it), else
 * of sorted {@code _id} reads with {@code skip}; anything that fails, an empty collection, or
 * {@code _id}s of more than one BSON type give one range (the copy of one cursor). Boundaries only
 * balance the chunks: whatever they are, the first chunk starts at the first {@code _id} and the last
 * ends after the last, so every document falls in exactly one chunk.
 *
 * <p>{@link Merged} gives each copied document the position of the whole copy at that point of the
 * merged order: every chunk's last {@code _id} copied so far. The window saves the position of a
 * prefix of that order, so a copy resumed from any saved position re-copies, chunk by chunk, only the
 * documents after that prefix — at most those in flight and not yet checkpointed.
 */
final class SnapshotChunks {
  /** The most chunks a copy is split into: the checkpoint carries every chunk's range. */
  static final int MAX_CHUNKS = 256;
  /** Sampled {@code _id}s per chunk: the quantiles of a larger sample are closer to the collection's. */
  static final int SAMPLES_PER_CHUNK = 20;

  private SnapshotChunks() {}

  /** How a collection is split: its chunks (one: not chunked), and how the boundaries were found, for the log. */
  record Plan(List<ResumePosition.Chunk> chunks, String how) {}

  /** How many chunks a collection of {@code count} documents is split into: at least C, about chunk-size documents each. */
  static int chunkCount(long count, SnapshotSettings settings) {
    if (settings.parallelism < 2 || count < 2) return 1;
    long bySize = (count + settings.chunkSize - 1) / settings.chunkSize;
    return (int) Math.min(Math.min(MAX_CHUNKS, count), Math.max(settings.parallelism, bySize));
  }

  /** The chunks to copy {@code namespace} in, found once when its copy starts. */
  static CompletionStage<Plan> plan(String stream, MongoClient client, MongoNamespace namespace, SnapshotSettings settings) {
    MongoCollection<Document> collection = client.getDatabase(namespace.getDatabaseName()).getCollection(namespace.getCollectionName());
    return MongoConnector.first(CommandTags.forStream(stream, collection.estimatedDocumentCount())).thenCompose(count -> {
      int chunks = chunkCount(count == null ? 0 : count, settings);
      if (chunks < 2) return single("one range: " + count + " documents, parallelism " + settings.parallelism);
      CompletableFuture<BsonValue> first = firstId(stream, collection, 1);
      CompletableFuture<BsonValue> last = firstId(stream, collection, -1);
      return first.thenCombine(last, (low, high) -> new BsonValue[] {low, high}).thenCompose(ends -> {
        if (ends[0] == null) return single("one range: the collection is empty");
        if (!BsonOrder.sameKind(ends[0], ends[1])) {
          return single("one range: the _ids are of more than one BSON type (" + ends[0].getBsonType() + " to " + ends[1].getBsonType() + ")");
        }
        List<BsonValue> even = evenly(ends[0], ends[1], count, chunks);
        if (even != null) {
          return CompletableFuture.completedFuture(new Plan(ResumePosition.Chunk.between(even), "evenly over the integer _ids " + ends[0].asNumber().longValue()
              + " to " + ends[1].asNumber().longValue()));
        }
        return sampled(stream, collection, chunks)
            .thenApply(ids -> new Plan(ResumePosition.Chunk.between(boundaries(ids, chunks, ends[0])), "by $sample"))
            .exceptionallyCompose(error -> skipped(stream, collection, chunks, count)
                .thenApply(ids -> new Plan(ResumePosition.Chunk.between(boundaries(ids, ids.size() + 1, ends[0])),
                    "by sorted _id reads ($sample: " + Errors.summary(Errors.unwrap(error)) + ")")));
      });
    }).exceptionally(error -> new Plan(ResumePosition.Chunk.between(List.of()), "one range: " + Errors.summary(Errors.unwrap(error))));
  }

  /**
   * The {@code chunks - 1} boundaries at even quantiles of the sorted {@code ids}: distinct, increasing,
   * after {@code first}, and of {@code first}'s kind (any other could not bound a range query of it).
   */
  static List<BsonValue> boundaries(List<BsonValue> ids, int chunks, BsonValue first) {
    List<BsonValue> sorted = new ArrayList<>(ids.stream().filter(id -> BsonOrder.sameKind(id, first)).toList());
    sorted.sort(BsonOrder::compare);
    List<BsonValue> boundaries = new ArrayList<>();
    for (int j = 1; j < chunks && !sorted.isEmpty(); j++) {
      BsonValue boundary = sorted.get((int) ((long) j * sorted.size() / chunks));
      BsonValue previous = boundaries.isEmpty() ? first : boundaries.get(boundaries.size() - 1);
      if (BsonOrder.compare(boundary, previous) > 0) boundaries.add(boundary);
    }
    return boundaries;
  }

  /**
   * Integer {@code _id}s from {@code first} to {@code last} that fill their span densely enough (at
   * most {@link #EVEN_SPREAD} values per document, as Flink CDC's even split asks) are split into equal
   * value ranges, with no read at all; null otherwise.
   */
  static List<BsonValue> evenly(BsonValue first, BsonValue last, long count, int chunks) {
    if (!isInteger(first) || !isInteger(last) || count < 1) return null;
    long low = first.asNumber().longValue();
    long high = last.asNumber().longValue();
    java.math.BigInteger span = java.math.BigInteger.valueOf(high).subtract(java.math.BigInteger.valueOf(low)).add(java.math.BigInteger.ONE);
    if (span.signum() <= 0 || span.compareTo(java.math.BigInteger.valueOf(count).multiply(java.math.BigInteger.valueOf(EVEN_SPREAD))) > 0) {
      return null;
    }
    List<BsonValue> boundaries = new ArrayList<>();
    for (int j = 1; j < chunks; j++) {
      long boundary = java.math.BigInteger.valueOf(low).add(span.multiply(java.math.BigInteger.valueOf(j)).divide(java.math.BigInteger.valueOf(chunks)))
          .longValueExact();
      if (boundary <= low || !boundaries.isEmpty() && boundary <= boundaries.get(boundaries.size() - 1).asNumber().longValue()) continue;
      boundaries.add(boundary >= Integer.MIN_VALUE && boundary <= Integer.MAX_VALUE && first.isInt32()
          ? new org.bson.BsonInt32((int) boundary) : new org.bson.BsonInt64(boundary));
    }
    return boundaries;
  }

  /** The most {@code _id} values per document for which integer {@code _id}s are split by value. */
  static final long EVEN_SPREAD = 1000;

  private static boolean isInteger(BsonValue value) {
    return value.isInt32() || value.isInt64();
  }

  private static CompletionStage<Plan> single(String how) {
    return CompletableFuture.completedFuture(new Plan(ResumePosition.Chunk.between(List.of()), how));
  }

  private static CompletableFuture<BsonValue> firstId(String stream, MongoCollection<Document> collection, int direction) {
    return MongoConnector.first(CommandTags.forStream(stream, collection.find(BsonDocument.class).projection(Projections.include("_id"))
            .sort(direction > 0 ? Sorts.ascending("_id") : Sorts.descending("_id")).limit(1)))
        .thenApply(document -> document == null ? null : document.get("_id"));
  }

  private static CompletionStage<List<BsonValue>> sampled(String stream, MongoCollection<Document> collection, int chunks) {
    List<Bson> pipeline = List.of(new Document("$sample", new Document("size", chunks * SAMPLES_PER_CHUNK)),
        new Document("$project", new Document("_id", 1)));
    return MongoConnector.all(CommandTags.forStream(stream, collection.aggregate(pipeline, BsonDocument.class)))
        .thenApply(documents -> documents.stream().map(document -> document.get("_id")).toList());
  }

  /** The {@code _id}s at every {@code count / chunks} documents of the sorted collection. */
  private static CompletionStage<List<BsonValue>> skipped(String stream, MongoCollection<Document> collection, int chunks, long count) {
    CompletableFuture<List<BsonValue>> all = CompletableFuture.completedFuture(new ArrayList<>());
    for (int j = 1; j < chunks; j++) {
      int skip = (int) Math.min(Integer.MAX_VALUE, (long) j * count / chunks);
      all = all.thenCompose(ids -> MongoConnector.first(CommandTags.forStream(stream, collection.find(BsonDocument.class)
              .projection(Projections.include("_id")).sort(Sorts.ascending("_id")).skip(skip).limit(1)))
          .thenApply(document -> {
            if (document != null) ids.add(document.get("_id"));
            return ids;
          }));
    }
    return all;
  }

  /** The documents of {@code chunks} already copied (the done ones, and each begun one up to its _id); null: none. */
  static Bson copiedFilter(List<ResumePosition.Chunk> chunks) {
    List<Bson> copied = new ArrayList<>();
    for (ResumePosition.Chunk chunk : chunks) {
      if (!chunk.done() && chunk.after() == null) continue;
      List<Bson> range = new ArrayList<>(2);
      if (chunk.min() != null) range.add(Filters.gte("_id", chunk.min()));
      if (chunk.done()) {
        if (chunk.max() != null) range.add(Filters.lt("_id", chunk.max()));
      } else {
        range.add(Filters.lte("_id", chunk.after()));
      }
      copied.add(range.isEmpty() ? new Document() : range.size() == 1 ? range.get(0) : Filters.and(range));
    }
    return copied.isEmpty() ? null : copied.size() == 1 ? copied.get(0) : Filters.or(copied);
  }

  /**
   * The copy's position as the chunks' documents are merged: used by one stage at a time, it keeps
   * every chunk's progress and gives each document the position that includes it and everything
   * merged before it.
   */
  static final class Merged {
    private final BsonTimestamp at;
    private final String namespace;
    private final ResumePosition.Chunk[] chunks;

    Merged(BsonTimestamp at, String namespace, List<ResumePosition.Chunk> chunks) {
      this.at = at;
      this.namespace = namespace;
      this.chunks = chunks.toArray(new ResumePosition.Chunk[0]);
    }

    /** The document {@code id} of chunk {@code chunk} is merged: the position after it. */
    ResumePosition.Snapshot copied(int chunk, BsonValue id) {
      chunks[chunk] = chunks[chunk].copiedTo(id);
      return position();
    }

    /** Chunk {@code chunk}'s last document has been merged. */
    void finished(int chunk) {
      chunks[chunk] = chunks[chunk].finished();
    }

    ResumePosition.Snapshot position() {
      return new ResumePosition.Snapshot(at, namespace, null, List.of(chunks));
    }
  }

  /**
   * The position of a copy of many collections at once that {@code position} stands for, given the
   * target's collections {@code all} (namespace order): the form itself, or one of the forms of one
   * collection at a time read as it meant — the collections before the one it names done, that one
   * begun with its chunks (a one-cursor {@code _id}: one chunk after it), the others still to copy.
   */
  static ResumePosition.Snapshot acrossCollections(ResumePosition.Snapshot position, List<String> all) {
    if (position.collections() != null) return position;
    String at = position.namespace();
    if (at == null) return ResumePosition.Snapshot.ofCollections(position.at(), List.of(), List.of());
    List<String> done = all.stream().filter(ns -> ns.compareTo(at) < 0).toList();
    List<ResumePosition.Chunk> chunks = position.chunks() != null ? position.chunks()
        : position.after() != null ? List.of(new ResumePosition.Chunk(null, null, position.after(), false)) : null;
    return ResumePosition.Snapshot.ofCollections(position.at(), chunks == null ? List.of() : List.of(new ResumePosition.Collection(at, chunks)), done);
  }

  /**
   * The position of a copy of many collections at once as their chunks' documents are merged: used
   * by one stage at a time, it keeps the collections begun (each with its chunks' progress) and those
   * done, and gives each document the position that includes it and everything merged before it. A
   * collection enters when its first document or chunk end is merged, and moves to the done ones when
   * its last chunk ends; one not yet entered is still to copy from its first document.
   */
  static final class Across {
    private final BsonTimestamp at;
    private List<String> done;
    private final java.util.TreeMap<String, ResumePosition.Chunk[]> begun = new java.util.TreeMap<>();
    /** Each begun collection's immutable form, made again only when it changes. */
    private final java.util.Map<String, ResumePosition.Collection> kept = new java.util.HashMap<>();

    Across(ResumePosition.Snapshot from) {
      this.at = from.at();
      this.done = from.done();
      for (ResumePosition.Collection collection : from.collections()) begun.put(collection.namespace(), collection.chunks().toArray(new ResumePosition.Chunk[0]));
    }

    /** The document {@code id} of chunk {@code chunk} of {@code ns} (split into {@code chunks}) is merged: the position after it. */
    ResumePosition.Snapshot copied(String ns, List<ResumePosition.Chunk> chunks, int chunk, BsonValue id) {
      ResumePosition.Chunk[] progress = begun.computeIfAbsent(ns, k -> chunks.toArray(new ResumePosition.Chunk[0]));
      progress[chunk] = progress[chunk].copiedTo(id);
      kept.remove(ns);
      return position();
    }

    /** The last document of chunk {@code chunk} of {@code ns} has been merged. */
    void finished(String ns, List<ResumePosition.Chunk> chunks, int chunk) {
      ResumePosition.Chunk[] progress = begun.computeIfAbsent(ns, k -> chunks.toArray(new ResumePosition.Chunk[0]));
      progress[chunk] = progress[chunk].finished();
      kept.remove(ns);
      for (ResumePosition.Chunk one : progress) if (!one.done()) return;
      begun.remove(ns);
      java.util.TreeSet<String> all = new java.util.TreeSet<>(done);
      all.add(ns);
      done = List.copyOf(all);
    }

    ResumePosition.Snapshot position() {
      List<ResumePosition.Collection> collections = new ArrayList<>(begun.size());
      for (var entry : begun.entrySet()) {
        collections.add(kept.computeIfAbsent(entry.getKey(), ns -> new ResumePosition.Collection(ns, List.of(entry.getValue()))));
      }
      return ResumePosition.Snapshot.ofCollections(at, collections, done);
    }
  }
}
