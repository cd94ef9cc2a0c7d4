package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.time.Instant;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.type.LongDataType;
import org.h2.mvstore.type.StringDataType;

/**
 * The oplog of the embedded server, replacing mongo-java-server's: entries live in
 * {@code local.oplog.rs} (durable with the rest of the data, queryable like a real oplog), keyed
 * by their timestamp, so a change-stream cursor seeks its position in O(log n) instead of
 * scanning and sorting the whole oplog on every getMore, and the first and last entries, the
 * count and the size are read in O(log n) too. It also
 *
 * <ul>
 *   <li>takes its entries from the collections, which record each change as they apply it
 *       ({@link EmbeddedCollection}), for every write path given this oplog; mongo-java-server's
 *       own notifications to it ({@link #handleInsert} and the like) are ignored, as they miss
 *       findAndModify and report failed inserts (a write given another oplog gets them there);
 *   <li>appends in timestamp order, one writer at a time, so no reader can pass an entry that is
 *       still being written;
 *   <li>shows change streams only entries that are committed to the store ({@link #published}),
 *       so no consumer ever holds the token of an entry that a crash takes back;
 *   <li>keeps timestamps increasing across restarts (it continues from the newest entry);
 *   <li>records updates the way change events need them: document key, updated and removed fields,
 *       replacements as {@code replace};
 *   <li>is capped by entries, bytes and age (and keeps entries younger than a minimum retention,
 *       as {@code oplogMinRetentionHours} does): the oldest are truncated, and a stream that wants
 *       to resume before the truncation point gets {@code ChangeStreamHistoryLost} (286), as from a
 *       real replica set; a token that is not in the oplog gets {@code ChangeStreamFatalError} (280);
 *   <li>announces every entry it shows, so an idle getMore waits instead of spinning.
 * </ul>
 */
final class ChangeStreamOplog implements Oplog, PipelineUpdates.Log {
  static final String DATABASE = "local";
  static final String COLLECTION = "oplog.rs";
  private static final String META_MAP = "tidemark.oplog.meta";
  private static final String TRUNCATED_THROUGH = "truncatedThrough";
  private static final String HISTORY_START = "historyStart";
  /** Fields of an entry of a collection that records pre- and post-images: the document before and after the change. */
  static final String PRE_IMAGE = "preImage";
  static final String POST_IMAGE = "postImage";
  /** Entries a change-stream cursor reads from the store at a time. */
  private static final int READ_AHEAD = 256;

  private final EmbeddedBackend backend;
  private final Storage storage;
  private final EmbeddedCollection collection;
  private final MVMap<String, Long> meta;
  private final CursorRegistry cursors;
  private final EmbeddedSettings settings;
  private final boolean visibleWhenCommitted;
  private final java.util.Set<Long> cursorIds = java.util.concurrent.ConcurrentHashMap.newKeySet();
  private final Object appended = new Object();
  private long appends;
  /** The newest entry's timestamp; written under this oplog's lock. */
  private volatile long lastTs;
  /** Entries up to this timestamp are shown to change streams. */
  private volatile long visibleThrough;

  /**
   * @param visibleWhenCommitted show an entry once a commit of the store covers it
   *     ({@link #published}); else as soon as it is appended (when writes are not committed
   *     before they are acknowledged, there is nothing to wait for)
   */
  ChangeStreamOplog(EmbeddedBackend backend, Storage storage, CursorRegistry cursors, EmbeddedSettings settings,
      boolean visibleWhenCommitted) {
    this.backend = backend;
    this.storage = storage;
    MongoDatabase local = backend.resolveDatabase(DATABASE);
    MongoCollection<?> existing = local.resolveCollection(COLLECTION, false);
    this.collection = (EmbeddedCollection) (existing != null ? existing : local.createCollectionOrThrowIfExists(COLLECTION));
    this.meta = storage.store.openMap(META_MAP,
        new MVMap.Builder<String, Long>().keyType(StringDataType.INSTANCE).valueType(LongDataType.INSTANCE));
    this.cursors = cursors;
    this.settings = settings;
    this.visibleWhenCommitted = visibleWhenCommitted;
    Object last = collection.lastKey();
    this.lastTs = last instanceof Long ts ? ts : 0L;
    this.visibleThrough = lastTs;
  }

  // ---- writes -------------------------------------------------------------------------------

  /** mongo-java-server's notification: ignored, {@link EmbeddedCollection} records inserts itself. */
  @Override
  public void handleInsert(String namespace, List<Document> documents) {}

  /** mongo-java-server's notification: ignored, {@link EmbeddedCollection} records updates itself. */
  @Override
  public void handleUpdate(String namespace, Document selector, Document update, List<Object> modifiedIds) {}

  /** mongo-java-server's notification: ignored, {@link EmbeddedCollection} records deletes itself. */
  @Override
  public void handleDelete(String namespace, Document query, List<Object> deletedIds) {}

  /** A document was inserted (or upserted). */
  void recordInsert(String namespace, Document document) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      append(entry("i", namespace).append("o", document));
    }
    appended();
  }

  /**
   * A document was updated by {@code update} (an update or a replacement; null: unknown, then
   * recorded as a replacement by {@code after}), and now is {@code after}. {@code before}: the
   * document before, when its collection records pre- and post-images (else null); the entry
   * keeps it ({@code preImage}), and an update's {@code after} too ({@code postImage}), so they
   * are committed with the entry and live as long as it.
   */
  void recordUpdate(String namespace, Object id, Document update, Document after, Document before) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      Document entry = entry("u", namespace).append("o2", new Document("_id", id));
      boolean replacement = update == null || ChangeEvents.isReplacement(update);
      if (replacement) {
        entry.append("o", update == null ? after : update).append("replacement", true);
      } else {
        entry.append("o", update).append("updateDescription", ChangeEvents.updateDescription(update, after));
      }
      if (before != null) {
        entry.append(PRE_IMAGE, before);
        if (!replacement) entry.append(POST_IMAGE, after);
      }
      append(entry);
    }
    appended();
  }

  /** A document was deleted; {@code before}: the document, when its collection records pre-images (else null). */
  void recordDelete(String namespace, Object id, Document before) {
    if (isOplog(namespace)) return;
    synchronized (this) {
      Document entry = entry("d", namespace).append("o", new Document("_id", id));
      if (before != null) entry.append(PRE_IMAGE, before);
      append(entry);
    }
    appended();
  }

  /**
   * An update whose description was worked out by the writer (a pipeline update, described by the
   * difference it made from {@code before} to {@code after}): {@code o} holds the fields set and
   * unset, as an update of MongoDB 4.x logs. The writer gives this oplog, wrapped, to
   * mongo-java-server's update, so the collection does not record the update itself.
   */
  @Override
  public void handleDescribedUpdate(String namespace, Object id, Document description, Document before, Document after) {
    if (isOplog(namespace)) return;
    Document operation = new Document();
    Document updated = (Document) description.get("updatedFields");
    if (!updated.isEmpty()) operation.append("$set", updated.cloneDeeply());
    Document unset = new Document();
    for (Object field : (List<?>) description.get("removedFields")) unset.append(String.valueOf(field), true);
    if (!unset.isEmpty()) operation.append("$unset", unset);
    boolean images = recordsImages(namespace);
    synchronized (this) {
      Document entry = entry("u", namespace).append("o", operation).append("o2", new Document("_id", id))
          .append("updateDescription", description.cloneDeeply());
      if (images) entry.append(PRE_IMAGE, before.cloneDeeply()).append(POST_IMAGE, after.cloneDeeply());
      append(entry);
    }
    appended();
  }

  /** Whether the collection of {@code namespace} records pre- and post-images. */
  boolean recordsImages(String namespace) {
    return collectionOf(namespace) instanceof EmbeddedCollection collection && collection.recordsImages();
  }

  private MongoCollection<?> collectionOf(String namespace) {
    int dot = namespace.indexOf('.');
    if (dot < 0) return null;
    return backend.resolveDatabase(namespace.substring(0, dot)).resolveCollection(namespace.substring(dot + 1), false);
  }

  /** A collection was renamed: a command entry, as a replica set writes, with the collection's UUID (which it keeps). */
  void handleRename(String from, String to) {
    if (isOplog(from)) return;
    synchronized (this) {
      Document entry = entry("c", from.substring(0, from.indexOf('.')) + ".$cmd");
      java.util.UUID uuid = storage.collectionUuid(to);
      if (uuid != null) entry.append("ui", uuid);
      append(entry.append("o", new Document("renameCollection", from).append("to", to)));
    }
    appended();
  }

  /**
   * A command that changed a collection of {@code database} (create, createIndexes, dropIndexes,
   * collMod): a command entry with the collection's UUID, {@code o} the command as a replica set
   * logs it, {@code o2} what it logs beside (the dropped index, the options before), or null. The
   * entries of a stream's expanded events ({@code showExpandedEvents}).
   */
  void recordCommand(String database, java.util.UUID uuid, Document command, Document o2) {
    if (isOplog(database + ".")) return;
    synchronized (this) {
      Document entry = entry("c", database + ".$cmd");
      if (uuid != null) entry.append("ui", uuid);
      entry.append("o", command);
      if (o2 != null) entry.append("o2", o2);
      append(entry);
    }
    appended();
  }

  @Override
  public void handleDropCollection(String namespace) {
    // mongo-java-server keeps its catalog in system.namespaces and system.indexes, which a
    // replica set does not have: dropping them with a database is no event.
    if (isOplog(namespace) || namespace.substring(namespace.indexOf('.') + 1).startsWith("system.")) return;
    int dot = namespace.indexOf('.');
    synchronized (this) {
      Document entry = entry("c", namespace.substring(0, dot) + ".$cmd");
      java.util.UUID uuid = storage.collectionUuid(namespace); // its maps are removed after this
      if (uuid != null) entry.append("ui", uuid);
      append(entry.append("o", new Document("drop", namespace.substring(dot + 1))));
    }
    appended();
  }

  /**
   * A committed transaction: one command entry whose {@code applyOps} holds its operations, in the
   * shape of entries of their own, with the session and transaction number, as a replica set logs
   * a transaction. A transaction that wrote nothing logs nothing. (Its writes are applied with
   * {@code NoopOplog}, so the collections record none of them themselves.)
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
    appended();
  }

  /** A database was dropped, after each of its collections: a command entry, as a replica set writes. */
  void handleDropDatabase(String database) {
    if (isOplog(database + ".")) return;
    synchronized (this) {
      append(entry("c", database + ".$cmd").append("o", new Document("dropDatabase", 1)));
    }
    appended();
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
    long count = collection.count();
    long maxEntries = settings.oplogMaxEntries;
    boolean overEntries = count > maxEntries + Math.max(1, maxEntries / 100);
    boolean overBytes = settings.oplogMaxBytes > 0 && collection.storedBytes() > settings.oplogMaxBytes;
    boolean overAge = settings.oplogMaxAge.toSeconds() > 0 && ageSeconds(oldest()) > settings.oplogMaxAge.toSeconds();
    if (overEntries || overBytes || overAge) truncate();
  }

  /** Drops the oldest entries down to the caps, keeping the minimum retention, and remembers how far history now reaches. */
  private void truncate() {
    long through = 0;
    long minRetention = settings.oplogMinRetention.toSeconds();
    long maxAge = settings.oplogMaxAge.toSeconds();
    while (collection.count() > 1) {
      long oldest = oldest();
      long age = ageSeconds(oldest);
      boolean over = collection.count() > settings.oplogMaxEntries
          || (settings.oplogMaxBytes > 0 && collection.storedBytes() > settings.oplogMaxBytes)
          || (maxAge > 0 && age > maxAge);
      if (!over || (minRetention > 0 && age < minRetention)) break;
      collection.removeDocument(collection.find(oldest));
      through = oldest;
    }
    if (through != 0) meta.put(TRUNCATED_THROUGH, through);
  }

  private static long ageSeconds(long ts) {
    return ts == 0 ? 0 : Instant.now().getEpochSecond() - (ts >>> 32);
  }

  /** What collStats says of a capped collection: entries and bytes, and their caps. */
  Document stats() {
    Document stats = new Document("ns", DATABASE + "." + COLLECTION)
        .append("count", (long) collection.count())
        .append("capped", true)
        .append("max", settings.oplogMaxEntries)
        .append("size", collection.storedBytes());
    if (settings.oplogMaxBytes > 0) stats.append("maxSize", settings.oplogMaxBytes);
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

  private void appended() {
    if (!visibleWhenCommitted) published(newest());
  }

  /** Entries up to {@code ts} are committed: change streams may read them now. */
  void published(long ts) {
    synchronized (appended) {
      if (ts <= visibleThrough) return;
      visibleThrough = ts;
      appends++;
      appended.notifyAll();
    }
  }

  long appends() {
    synchronized (appended) {
      return appends;
    }
  }

  /** Waits until an entry is shown after {@code seen} announcements, or the time is up. */
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
    return settings.maxEventBytes;
  }

  /** Timestamp value of the newest entry, 0 when empty. */
  long newest() {
    return lastTs;
  }

  /** Timestamp value of the oldest entry, 0 when empty. */
  long oldest() {
    return collection.firstKey() instanceof Long ts ? ts : 0L;
  }

  /**
   * Marks where history starts, once: when this oplog was created, as a replica set's starts with
   * its initiation (or at its first entry, for an oplog of an earlier version of the server). A
   * stream cannot start before it.
   */
  void initiate() {
    if (meta.containsKey(HISTORY_START)) return;
    long now = Instant.now().getEpochSecond() << 32;
    meta.put(HISTORY_START, collection.count() == 0 ? now : Math.min(now, oldest()));
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
    return collection.find(ts);
  }

  /** Shown entries after {@code ts} (or from it, when inclusive), oldest first, read a few at a time. */
  Iterable<Map.Entry<Object, Document>> from(long ts, boolean inclusive) {
    long through = visibleThrough;
    return () -> new Iterator<>() {
      private Iterator<Document> batch = List.<Document>of().iterator();
      private long position = ts;
      private boolean includePosition = inclusive;
      private boolean end;

      @Override
      public boolean hasNext() {
        while (!batch.hasNext() && !end) {
          List<Document> read = collection.readFrom(position, includePosition, READ_AHEAD);
          end = read.size() < READ_AHEAD;
          batch = read.stream().filter(entry -> timestamp(entry) <= through).iterator();
          if (!read.isEmpty()) {
            position = timestamp(read.get(read.size() - 1));
            includePosition = false;
            if (position > through) end = true;
          }
        }
        return batch.hasNext();
      }

      @Override
      public Map.Entry<Object, Document> next() {
        if (!hasNext()) throw new NoSuchElementException();
        Document entry = batch.next();
        return Map.entry(timestamp(entry), entry);
      }
    };
  }

  private static long timestamp(Document entry) {
    return ((Number) entry.get("_id")).longValue();
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
