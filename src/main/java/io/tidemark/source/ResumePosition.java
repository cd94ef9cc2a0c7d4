package io.tidemark.source;

import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;

/**
 * Where a change stream opens: the options {@code resumeAfter}, {@code startAfter},
 * {@code startAtOperationTime}, or now; or a snapshot to copy first, whose stream then opens at the
 * snapshot's operation time.
 */
public sealed interface ResumePosition {

  ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher);

  /** For the log: which option and its value. */
  String describe();

  /**
   * The cluster time this position stands at: a token's (read out of it), an operation time, a
   * snapshot's time; null when it cannot be told (a token of another form, "now").
   */
  default BsonTimestamp clusterTime() {
    if (this instanceof ResumeAfter resume) return ResumeTokens.clusterTime(resume.token());
    if (this instanceof StartAfter start) return ResumeTokens.clusterTime(start.token());
    if (this instanceof StartAtOperationTime at) return at.time();
    if (this instanceof Snapshot snapshot) return snapshot.at();
    return null;
  }

  static ResumePosition resumeAfter(BsonDocument token) {
    return new ResumeAfter(token);
  }

  static ResumePosition startAfter(BsonDocument token) {
    return new StartAfter(token);
  }

  static ResumePosition startAtOperationTime(BsonTimestamp time) {
    return new StartAtOperationTime(time);
  }

  /** Copy the collection's documents with {@code _id} after {@code after} (null: all), then stream from {@code at}. */
  static ResumePosition snapshot(BsonTimestamp at, BsonValue after) {
    return new Snapshot(at, null, after);
  }

  /**
   * Copy the collections of a database or deployment target from {@code namespace} on (null: from the
   * first), that collection's documents after {@code after} (null: all), then stream from {@code at}.
   */
  static ResumePosition snapshot(BsonTimestamp at, String namespace, BsonValue after) {
    return new Snapshot(at, namespace, after);
  }

  /**
   * The snapshot position a checkpoint's progress document stands for: {@code {}}, {@code {_id: ...}},
   * or, for a target of many collections, {@code {ns: "<db>.<collection>", _id: ...}}; a chunked copy's
   * {@code {ns?: ..., chunks: [{min?, max?, _id?, done?}, ...]}}; a copy of many collections at once,
   * {@code {collections: [{ns: ..., chunks: [...]}, ...], done: ["<db>.<collection>", ...]}}.
   */
  static ResumePosition snapshotFrom(BsonTimestamp at, BsonDocument progress) {
    if (progress.isArray("collections") || progress.isArray("done")) {
      java.util.List<Collection> collections = new java.util.ArrayList<>();
      if (progress.isArray("collections")) {
        for (org.bson.BsonValue collection : progress.getArray("collections")) collections.add(Collection.fromDocument(collection.asDocument()));
      }
      java.util.List<String> done = new java.util.ArrayList<>();
      if (progress.isArray("done")) for (org.bson.BsonValue ns : progress.getArray("done")) done.add(ns.asString().getValue());
      return new Snapshot(at, null, null, null, collections, done);
    }
    String namespace = progress.isString("ns") ? progress.getString("ns").getValue() : null;
    if (progress.isArray("chunks")) {
      java.util.List<Chunk> chunks = new java.util.ArrayList<>();
      for (org.bson.BsonValue chunk : progress.getArray("chunks")) chunks.add(Chunk.fromDocument(chunk.asDocument()));
      return new Snapshot(at, namespace, null, chunks);
    }
    return new Snapshot(at, namespace, progress.get("_id"));
  }

  static ResumePosition now() {
    return Now.INSTANCE;
  }

  record ResumeAfter(BsonDocument token) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.resumeAfter(token);
    }

    @Override
    public String describe() {
      return "resumeAfter " + token.toJson();
    }
  }

  record StartAfter(BsonDocument token) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAfter(token);
    }

    @Override
    public String describe() {
      return "startAfter " + token.toJson();
    }
  }

  record StartAtOperationTime(BsonTimestamp time) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAtOperationTime(time);
    }

    @Override
    public String describe() {
      return "startAtOperationTime Timestamp(" + time.getTime() + ", " + time.getInc() + ")";
    }
  }

  /**
   * A snapshot in progress: the documents after {@code _id} {@code after} (all when null) are still
   * to be copied; the change stream then opens at {@code at}, the operation time taken before the
   * copy started, so a change made during the copy is seen at least once. A target of many
   * collections copies them one after another in namespace order: {@code namespace} is the one in
   * progress (those before it are done; null: none begun), and {@code after} lies in it.
   *
   * <p>A target of many collections copied several at a time keeps {@code collections} and
   * {@code done} instead (then {@code namespace}, {@code after} and {@code chunks} are null): the
   * collections begun and not done, each with its chunks, and the names of those done; a collection
   * in neither is still to copy from its first document.
   */
  record Snapshot(BsonTimestamp at, String namespace, BsonValue after, java.util.List<Chunk> chunks,
      java.util.List<Collection> collections, java.util.List<String> done) implements ResumePosition {
    /**
     * @param chunks a chunked copy of the collection in progress: every chunk's range and how far
     *     it is done (then {@code after} is null); null when the collection is copied by one cursor
     * @param collections the collections begun and not done of a copy of many at once, in namespace
     *     order; null for the other forms
     * @param done the collections done of a copy of many at once, in namespace order; null for the other forms
     */
    public Snapshot {
      java.util.Objects.requireNonNull(at, "at");
      if (chunks != null && after != null) throw new IllegalArgumentException("a chunked snapshot keeps its _ids per chunk");
      if ((collections == null) != (done == null)) throw new IllegalArgumentException("collections and done go together");
      if (collections != null && (namespace != null || after != null || chunks != null)) {
        throw new IllegalArgumentException("a copy of many collections at once keeps its progress per collection");
      }
      chunks = chunks == null ? null : java.util.List.copyOf(chunks); // free for a list that is already immutable
      collections = collections == null ? null : java.util.List.copyOf(collections);
      done = done == null ? null : java.util.List.copyOf(done);
    }

    public Snapshot(BsonTimestamp at, String namespace, BsonValue after, java.util.List<Chunk> chunks) {
      this(at, namespace, after, chunks, null, null);
    }

    public Snapshot(BsonTimestamp at, String namespace, BsonValue after) {
      this(at, namespace, after, null, null, null);
    }

    /** A copy of many collections at once: those begun and not done, and the names of those done. */
    public static Snapshot ofCollections(BsonTimestamp at, java.util.List<Collection> collections, java.util.List<String> done) {
      return new Snapshot(at, null, null, null, collections, done);
    }

    /** Whether nothing of the copy is done yet. */
    public boolean fresh() {
      return namespace == null && after == null && chunks == null && (collections == null || collections.isEmpty() && done.isEmpty());
    }

    /**
     * Whether the document {@code id} of collection {@code ns} is still to copy from this position
     * ({@code ns} is ignored for a single collection's position). Collections before the one a
     * position of one at a time names are done, those after it still to copy.
     */
    public boolean remaining(String ns, BsonValue id) {
      if (collections != null) {
        if (done.contains(ns)) return false;
        for (Collection collection : collections) {
          if (collection.namespace().equals(ns)) return collection.chunks().stream().anyMatch(chunk -> chunk.remaining(id));
        }
        return true;
      }
      if (namespace != null && ns != null && !namespace.equals(ns)) return ns.compareTo(namespace) > 0;
      if (chunks != null) return chunks.stream().anyMatch(chunk -> chunk.remaining(id));
      return after == null || BsonOrder.compare(id, after) > 0;
    }

    /** The change stream that follows the copy. */
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAtOperationTime(at);
    }

    /** Where the stream goes on once the copy is complete. */
    public ResumePosition stream() {
      return new StartAtOperationTime(at);
    }

    /**
     * As a checkpoint keeps it: {@code {}}, {@code {_id: ...}}, {@code {ns: ...}} or {@code {ns: ..., _id: ...}};
     * chunked, {@code {ns?: ..., chunks: [{min?, max?, _id?, done?}, ...]}}.
     */
    public BsonDocument progress() {
      BsonDocument progress = new BsonDocument();
      if (namespace != null) progress.append("ns", new org.bson.BsonString(namespace));
      if (after != null) progress.append("_id", after);
      if (chunks != null) progress.append("chunks", Chunk.toArray(chunks));
      if (collections != null) {
        org.bson.BsonArray array = new org.bson.BsonArray(new java.util.ArrayList<>(collections.size()));
        for (Collection collection : collections) array.add(collection.toDocument());
        progress.append("collections", array);
        org.bson.BsonArray names = new org.bson.BsonArray(new java.util.ArrayList<>(done.size()));
        for (String ns : done) names.add(new org.bson.BsonString(ns));
        progress.append("done", names);
      }
      return progress;
    }

    @Override
    public String describe() {
      String in = namespace == null ? "" : " of " + namespace;
      String from;
      if (collections != null) {
        long chunksDone = collections.stream().flatMap(collection -> collection.chunks().stream()).filter(Chunk::done).count();
        long chunksAll = collections.stream().mapToLong(collection -> collection.chunks().size()).sum();
        from = "of many collections at once (" + done.size() + " done, " + collections.size() + " begun: "
            + collections.stream().map(Collection::namespace).toList() + ", " + chunksDone + " of " + chunksAll + " chunks done)";
      } else if (chunks != null) {
        long done = chunks.stream().filter(Chunk::done).count();
        long begun = chunks.stream().filter(chunk -> !chunk.done() && chunk.after() != null).count();
        from = "in " + chunks.size() + " chunks (" + done + " done, " + begun + " begun)" + in;
      } else {
        from = after == null ? "from the first _id" + in : "after _id " + new BsonDocument("_id", after).toJson() + in;
      }
      return "snapshot " + from + ", then startAtOperationTime Timestamp(" + at.getTime() + ", " + at.getInc() + ")";
    }
  }

  /**
   * One chunk of a collection's chunked copy: the {@code _id}s from {@code min} (inclusive; null: from
   * the first) to {@code max} (exclusive; null: to the last), of which those up to {@code after} are
   * copied (null: none yet), or all when {@code done}. The chunks of a copy are contiguous and cover
   * every {@code _id} of the collection's one {@code _id} type, so a document is in exactly one.
   */
  record Chunk(BsonValue min, BsonValue max, BsonValue after, boolean done) {
    /** The chunks between consecutive boundaries (sorted, distinct): the first from the first _id, the last to the last. */
    public static java.util.List<Chunk> between(java.util.List<? extends BsonValue> boundaries) {
      java.util.List<Chunk> chunks = new java.util.ArrayList<>(boundaries.size() + 1);
      BsonValue min = null;
      for (BsonValue boundary : boundaries) {
        chunks.add(new Chunk(min, boundary, null, false));
        min = boundary;
      }
      chunks.add(new Chunk(min, null, null, false));
      return java.util.List.copyOf(chunks);
    }

    /** Whether {@code id} falls in this chunk's range. */
    public boolean holds(BsonValue id) {
      return (min == null || BsonOrder.compare(id, min) >= 0) && (max == null || BsonOrder.compare(id, max) < 0);
    }

    /** Whether the document {@code id} is still to be copied: in the range, after {@code after}, and the chunk not done. */
    public boolean remaining(BsonValue id) {
      return !done && holds(id) && (after == null || BsonOrder.compare(id, after) > 0);
    }

    /** The same chunk with {@code id} (in it) copied and everything before it. */
    public Chunk copiedTo(BsonValue id) {
      return new Chunk(min, max, id, false);
    }

    /** The same chunk, every document of it copied. */
    public Chunk finished() {
      return new Chunk(min, max, after, true);
    }

    static org.bson.BsonArray toArray(java.util.List<Chunk> chunks) {
      org.bson.BsonArray array = new org.bson.BsonArray(new java.util.ArrayList<>(chunks.size()));
      for (Chunk chunk : chunks) array.add(chunk.toDocument());
      return array;
    }

    /** As a checkpoint keeps it: {@code {min?, max?, _id?, done?}}. */
    public BsonDocument toDocument() {
      BsonDocument document = new BsonDocument();
      if (min != null) document.append("min", min);
      if (max != null) document.append("max", max);
      if (after != null) document.append("_id", after);
      if (done) document.append("done", org.bson.BsonBoolean.TRUE);
      return document;
    }

    /** Reads what {@link #toDocument()} wrote. */
    public static Chunk fromDocument(BsonDocument document) {
      return new Chunk(document.get("min"), document.get("max"), document.get("_id"), document.getBoolean("done", org.bson.BsonBoolean.FALSE).getValue());
    }
  }

  /** A collection begun and not done in a copy of many collections at once: its chunks (one: a single cursor's range). */
  record Collection(String namespace, java.util.List<Chunk> chunks) {
    public Collection {
      java.util.Objects.requireNonNull(namespace, "namespace");
      chunks = java.util.List.copyOf(chunks);
    }

    /** As a checkpoint keeps it: {@code {ns, chunks: [...]}}. */
    public BsonDocument toDocument() {
      return new BsonDocument("ns", new org.bson.BsonString(namespace)).append("chunks", Chunk.toArray(chunks));
    }

    /** Reads what {@link #toDocument()} wrote. */
    public static Collection fromDocument(BsonDocument document) {
      java.util.List<Chunk> chunks = new java.util.ArrayList<>();
      for (BsonValue chunk : document.getArray("chunks")) chunks.add(Chunk.fromDocument(chunk.asDocument()));
      return new Collection(document.getString("ns").getValue(), chunks);
    }
  }

  enum Now implements ResumePosition {
    INSTANCE;

    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher;
    }

    @Override
    public String describe() {
      return "now";
    }
  }
}
