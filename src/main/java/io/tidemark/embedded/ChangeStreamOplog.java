package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * The oplog of the embedded server, replacing mongo-java-server's: entries live in
 * {@code local.oplog.rs} (durable with the rest of the data, queryable like a real oplog), keyed
 * by their timestamp, so a change-stream cursor seeks its position in O(log n) instead of
 * scanning and sorting the whole oplog on every getMore. It also
 *
 * <ul>
 *   <li>appends in timestamp order, one writer at a time, so no reader can pass an entry that is
 *       still being written;
 *   <li>keeps timestamps increasing across restarts (it continues from the newest entry);
 *   <li>records updates the way change events need them: document key, updated and removed fields,
 *       replacements as {@code replace};
 *   <li>is capped at a number of entries: the oldest are truncated, and a stream that wants to
 *       resume before the truncation point gets {@code ChangeStreamHistoryLost} (286), as from a
 *       real replica set; a token that is not in the oplog gets {@code ChangeStreamFatalError} (280);
 *   <li>announces every append, so an idle getMore waits instead of spinning.
 * </ul>
 */
final class ChangeStreamOplog implements Oplog, PipelineUpdates.Log {
  static final String DATABASE = "local";
  static final String COLLECTION = "oplog.rs";
  private static final String META_MAP = "tidemark.oplog.meta";
  private static final String TRUNCATED_THROUGH = "truncatedThrough";
  private static final String BYTES = "bytes";
  private static final String HISTORY_START = "historyStart";

  private final MongoBackend backend;
  private final MongoCollection<Object> collection;
  private final MVMap<Object, Document> entries;
  private final MVMap<String, Long> meta;
  private final CursorRegistry cursors;
  private final long maxEntries;
  private final long maxBytes;
  private final int maxEventBytes;
  private final java.util.Set<Long> cursorIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final Object appended = new Object();
  private long appends;
  private long lastTs;

  @SuppressWarnings("unchecked")
  ChangeStreamOplog(MongoBackend backend, MVStore store, CursorRegistry cursors, long maxEntries, long maxBytes, int maxEventBytes) {
    this.backend = backend;
    MongoDatabase local = backend.resolveDatabase(DATABASE);
    MongoCollection<?> existing = local.resolveCollection(COLLECTION, false);
    this.collection = (MongoCollection<Object>) (existing != null ? existing : local.createCollectionOrThrowIfExists(COLLECTION));
    this.entries = store.openMap("databases." + DATABASE + "." + COLLECTION);
    this.meta = store.openMap(META_MAP);
    this.cursors = cursors;
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.maxEventBytes = maxEventBytes;
    if (maxBytes > 0 && !meta.containsKey(BYTES)) {
      long bytes = 0;
      for (Document entry : entries.values()) bytes += Tokens.bsonSize(entry);
      meta.put(BYTES, bytes);
    }
    Object last = entries.isEmpty() ? null : entries.lastKey();
    this.lastTs = last instanceof Long ts ? ts : 0L;
  }

  // ---- writes -------------------------------------------------------------------------------

  @Override
  public void handleInsert(String namespace, List<Document> documents) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      for (Document document : documents) {
        append(entry("i", namespace).append("o", document.cloneDeeply()));
      }
    }
    announce();
  }

  @Override
  public void handleUpdate(String namespace, Document selector, Document update, List<Object> modifiedIds) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      for (Object id : modifiedIds) {
        Document entry = entry("u", namespace).append("o", update.cloneDeeply()).append("o2", new Document("_id", id));
        if (ChangeEvents.isReplacement(update)) {
          entry.append("replacement", true);
        } else {
          Document current = lookup(namespace, id);
          entry.append("updateDescription", ChangeEvents.updateDescription(update, current));
        }
        append(entry);
      }
    }
    announce();
  }

  /**
   * Updates whose description was worked out by the writer (a pipeline update, described by the
   * difference it made): {@code o} holds the fields set and unset, as an update of MongoDB 4.x logs.
   */
  @Override
  public void handleDescribedUpdate(String namespace, List<Object> ids, Document description) {
    if (isOplog(namespace)) return;
    Document operation = new Document();
    Document updated = (Document) description.get("updatedFields");
    if (!updated.isEmpty()) operation.append("$set", updated.cloneDeeply());
    Document unset = new Document();
    for (Object field : (List<?>) description.get("removedFields")) unset.append(String.valueOf(field), true);
    if (!unset.isEmpty()) operation.append("$unset", unset);
    synchronized (this) {
      for (Object id : ids) {
        append(entry("u", namespace).append("o", operation).append("o2", new Document("_id", id))
            .append("updateDescription", description.cloneDeeply()));
      }
    }
    announce();
  }

  @Override
  public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      for (Object id : deletedIds) {
        append(entry("d", namespace).append("o", new Document("_id", id)));
      }
    }
    announce();
  }

  /** A collection was renamed: a command entry, as a replica set writes. */
  void handleRename(String from, String to) {
    if (isOplog(from)) return;
    synchronized (this) {
      append(entry("c", from.substring(0, from.indexOf('.')) + ".$cmd").append("o", new Document("renameCollection", from).append("to", to)));
    }
    announce();
  }

  @Override
  public void handleDropCollection(String namespace) {
    // mongo-java-server keeps its catalog in system.namespaces and system.indexes, which a
    // replica set does not have: dropping them with a database is no event.
    if (isOplog(namespace) || namespace.substring(namespace.indexOf('.') + 1).startsWith("system.")) return;
    int dot = namespace.indexOf('.');
    synchronized (this) {
      append(entry("c", namespace.substring(0, dot) + ".$cmd").append("o", new Document("drop", namespace.substring(dot + 1))));
    }
    announce();
  }

  /**
   * A committed transaction: one command entry whose {@code applyOps} holds its operations, in the
   * shape of entries of their own, with the session and transaction number, as a replica set logs
   * a transaction. A transaction that wrote nothing logs nothing.
   */
  void handleTransaction(Document lsid, long txnNumber, List<Document> operations) {
    if (operations.isEmpty()) return;
    List<Document> logged = operations.stream().map(Document::cloneDeeply).toList();
    synchronized (this) {
      append(entry("c", "admin.$cmd")
          .append("o", new Document("applyOps", logged))
          .append("lsid", lsid.cloneDeeply())
          .append("txnNumber", txnNumber)
          .append("prevOpTime", new Document("ts", new BsonTimestamp(0)).append("t", -1L)));
    }
    announce();
  }

  /** A database was dropped, after each of its collections: a command entry, as a replica set writes. */
  void handleDropDatabase(String database) {
    if (isOplog(database + ".")) return;
    synchronized (this) {
      append(entry("c", database + ".$cmd").append("o", new Document("dropDatabase", 1)));
    }
    announce();
  }

  private Document entry(String op, String namespace) {
    long ts = nextTimestamp();
    return new Document("_id", ts)
        .append("ts", new BsonTimestamp(ts))
        .append("op", op)
        .append("ns", namespace)
        .append("wall", Instant.now());
  }

  private long nextTimestamp() {
    long now = Instant.now().getEpochSecond() << 32 | 1L;
    lastTs = Math.max(lastTs + 1, now);
    return lastTs;
  }

  private void append(Document entry) {
    collection.addDocument(entry);
    long bytes = 0;
    if (maxBytes > 0) {
      bytes = meta.getOrDefault(BYTES, 0L) + Tokens.bsonSize(entry);
      meta.put(BYTES, bytes);
    }
    if (entries.size() > maxEntries + Math.max(1, maxEntries / 100) || (maxBytes > 0 && bytes > maxBytes)) truncate();
  }

  /** Drops the oldest entries down to the caps, and remembers how far history now reaches. */
  private void truncate() {
    long through = 0;
    long bytes = maxBytes > 0 ? meta.getOrDefault(BYTES, 0L) : 0;
    while (entries.size() > maxEntries || (maxBytes > 0 && bytes > maxBytes && entries.size() > 1)) {
      Object oldest = entries.firstKey();
      Document entry = entries.get(oldest);
      if (maxBytes > 0) bytes -= Tokens.bsonSize(entry);
      collection.removeDocument(entry);
      through = (Long) oldest;
    }
    if (maxBytes > 0) meta.put(BYTES, bytes);
    if (through != 0) meta.put(TRUNCATED_THROUGH, through);
  }

  /** What collStats says of a capped collection: entries and their cap, and bytes where they are counted. */
  Document stats() {
    Document stats = new Document("ns", DATABASE + "." + COLLECTION)
        .append("count", (long) entries.size())
        .append("capped", true)
        .append("max", maxEntries);
    if (maxBytes > 0) stats.append("size", meta.getOrDefault(BYTES, 0L)).append("maxSize", maxBytes);
    return stats.append("ok", 1.0);
  }

  /** Removes every open change-stream cursor: their next getMore fails with CursorNotFound (43). */
  int killCursors() {
    int killed = 0;
    for (Long id : cursorIds) {
      if (cursors.remove(id)) killed++;
      cursorIds.remove(id);
    }
    return killed;
  }

  private Document lookup(String namespace, Object id) {
    int dot = namespace.indexOf('.');
    MongoCollection<?> target = backend.resolveDatabase(namespace.substring(0, dot)).resolveCollection(namespace.substring(dot + 1), false);
    if (target == null) return null;
    for (Document document : target.handleQuery(new Document("_id", id), 0, 1)) return document;
    return null;
  }

  private boolean isOplog(String namespace) {
    return namespace.startsWith(DATABASE + ".");
  }

  private void announce() {
    synchronized (appended) {
      appends++;
      appended.notifyAll();
    }
  }

  long appends() {
    synchronized (appended) {
      return appends;
    }
  }

  /** Waits until an entry is appended after {@code seen} appends, or the time is up. */
  void awaitAppendAfter(long seen, long maxMillis) throws InterruptedException {
    long deadline = System.nanoTime() + maxMillis * 1_000_000L;
    synchronized (appended) {
      long remaining;
      while (appends == seen && (remaining = deadline - System.nanoTime()) > 0) {
        appended.wait(Math.max(1, remaining / 1_000_000L));
      }
    }
  }

  // ---- reads --------------------------------------------------------------------------------

  /** The largest change event the server returns (0: no limit). */
  int maxEventBytes() {
    return maxEventBytes;
  }

  /** Timestamp value of the newest entry, 0 when empty. */
  long newest() {
    Object last = entries.isEmpty() ? null : entries.lastKey();
    return last instanceof Long ts ? ts : 0L;
  }

  /** Timestamp value of the oldest entry, 0 when empty. */
  long oldest() {
    Object first = entries.isEmpty() ? null : entries.firstKey();
    return first instanceof Long ts ? ts : 0L;
  }

  /**
   * Marks where history starts, once: when this oplog was created, as a replica set's starts with
   * its initiation (or at its first entry, for an oplog of an earlier version of the server). A
   * stream cannot start before it.
   */
  void initiate() {
    if (meta.containsKey(HISTORY_START)) return;
    long now = Instant.now().getEpochSecond() << 32;
    meta.put(HISTORY_START, entries.isEmpty() ? now : Math.min(now, oldest()));
  }

  /** The time history starts at: nothing can have happened before (0: not initiated). */
  long historyStart() {
    Long start = meta.get(HISTORY_START);
    return start == null ? 0 : start;
  }

  /** History up to and including this timestamp value was truncated; 0 when nothing was. */
  long truncatedThrough() {
    Long through = meta.get(TRUNCATED_THROUGH);
    return through == null ? 0 : through;
  }

  Document entryAt(long ts) {
    return entries.get(ts);
  }

  /** Entries after {@code ts} (or from it, when inclusive), oldest first, read lazily. */
  Iterable<Map.Entry<Object, Document>> from(long ts, boolean inclusive) {
    Object start = inclusive ? entries.ceilingKey(ts) : entries.higherKey(ts);
    if (start == null) return List.of();
    return () -> {
      var cursor = entries.cursor(start);
      return new java.util.Iterator<>() {
        @Override
        public boolean hasNext() {
          return cursor.hasNext();
        }

        @Override
        public Map.Entry<Object, Document> next() {
          Object key = cursor.next();
          return Map.entry(key, cursor.getValue());
        }
      };
    };
  }

  Document currentDocument(String namespace, Object id) {
    return lookup(namespace, id);
  }

  @Override
  public Cursor createCursor(Document changeStream, String namespace, Aggregation aggregation) {
    ChangeStreamCursor cursor = ChangeStreamCursor.open(this, cursors.generateCursorId(), changeStream, namespace, aggregation);
    cursors.add(cursor);
    cursorIds.add(cursor.getId());
    return cursor;
  }
}
