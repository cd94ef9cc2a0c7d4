package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractSynchronizedMongoCollection;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.DocumentWithPosition;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.QueryParameters;
import de.bwaldvogel.mongo.backend.QueryResult;
import de.bwaldvogel.mongo.backend.Utils;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.UUID;
import java.util.function.Supplier;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.type.ByteArrayDataType;
import org.h2.mvstore.type.LongDataType;
import org.h2.mvstore.type.StringDataType;

/**
 * A collection of the embedded server, in place of mongo-java-server's H2 collection:
 *
 * <ul>
 *   <li>documents are stored as BSON ({@link StoredDocuments}) in a map keyed and ordered by
 *       {@code _id} ({@link DocumentKeyType}): the map is the {@code _id} index ({@link IdIndex});
 *   <li>a query reads only the key range its {@code _id} conditions allow ({@link KeyRange}), and,
 *       in key order ({@code $natural}, {@code _id}, or {@code ts} in the oplog, either way),
 *       streams its result a batch at a time ({@link KeyScan}, {@link DocumentCursor}) without
 *       holding the collection's lock; sorted otherwise, it is sorted in memory, keeping only
 *       skip + limit documents under a limit;
 *   <li>every change — insert, update, replacement, delete, by any command (insert, update,
 *       delete, findAndModify, bulk writes, upserts) — is recorded in the oplog under the
 *       collection's lock, as it is applied, so entries follow the order of the changes of each
 *       document; a write that fails records nothing, nor one given another oplog than the
 *       server's ({@link #recordingOplog}).
 * </ul>
 */
final class EmbeddedCollection extends AbstractSynchronizedMongoCollection<Object> {
  private static final String DATA_SIZE = "dataSize";
  /** Kept beside the data size: the collection's UUID, and whether it records pre- and post-images (1) or not. */
  private static final String UUID_MOST = "uuid.most";
  private static final String UUID_LEAST = "uuid.least";
  private static final String IMAGES = "changeStreamPreAndPostImages";
  /** Documents read at a time when a query's result is iterated inside the server. */
  private static final int CHUNK = 256;

  private final Storage storage;
  private final MVMap<Object, byte[]> documents;
  private final MVMap<String, Long> statistics;
  /** The oplog: its key is its timestamp, so conditions and sorts on {@code ts} are on the key. */
  private final boolean keyedByTimestamp;
  /** The update of the updateDocuments or findAndModify in progress, for the oplog entries of what it changes. */
  private Document update;
  /** Whether the updateDocuments or deleteDocuments in progress records (it was given the server's oplog); null: as its command. */
  private Boolean recording;

  EmbeddedCollection(MongoDatabase database, String name, CollectionOptions options, CursorRegistry cursors, Storage storage) {
    super(database, name, options, cursors);
    this.storage = storage;
    String namespace = database.getDatabaseName() + "." + name;
    this.documents = storage.store.openMap(Storage.DOCUMENTS + namespace,
        new MVMap.Builder<Object, byte[]>().keyType(DocumentKeyType.INSTANCE).valueType(ByteArrayDataType.INSTANCE));
    this.statistics = storage.store.openMap(Storage.STATISTICS + namespace,
        new MVMap.Builder<String, Long>().keyType(StringDataType.INSTANCE).valueType(LongDataType.INSTANCE));
    this.keyedByTimestamp = namespace.equals(ChangeStreamOplog.DATABASE + "." + ChangeStreamOplog.COLLECTION);
    if (!statistics.containsKey(UUID_MOST)) {
      // A new collection, or one stored before collections had a UUID (opened with its database, or
      // created by a command: never outside a write that a commit waits for).
      UUID uuid = UUID.randomUUID();
      statistics.put(UUID_MOST, uuid.getMostSignificantBits());
      statistics.put(UUID_LEAST, uuid.getLeastSignificantBits());
    }
  }

  /** The collection's UUID ({@code collectionUUID} of its expanded change events, {@code info.uuid} of listCollections); kept by a rename. */
  UUID uuid() {
    return uuid(statistics);
  }

  /** The UUID kept in a collection's statistics map. */
  static UUID uuid(MVMap<String, Long> statistics) {
    Long most = statistics.get(UUID_MOST);
    Long least = statistics.get(UUID_LEAST);
    return most == null || least == null ? null : new UUID(most, least);
  }

  /** Whether its updates, replacements and deletes keep the document before (and after) in their oplog entry ({@code changeStreamPreAndPostImages}). */
  boolean recordsImages() {
    return statistics.getOrDefault(IMAGES, 0L) == 1L;
  }

  void recordsImages(boolean on) {
    statistics.put(IMAGES, on ? 1L : 0L);
  }

  MVMap<Object, byte[]> documentMap() {
    return documents;
  }

  MVMap<String, Long> statisticsMap() {
    return statistics;
  }

  // ---- writes -------------------------------------------------------------------------------

  @Override
  protected Object addDocumentInternal(Document document) {
    Object key = getIdField() == null ? UUID.randomUUID() : Missing.ofNullable(Utils.getSubdocumentValue(document, getIdField()));
    byte[] stored = StoredDocuments.encode(document);
    if (documents.putIfAbsent(key, stored) != null) {
      throw new IllegalStateException("a document with key " + key + " is already in " + getFullName());
    }
    addDataSize(stored.length);
    return key;
  }

  @Override
  public synchronized void addDocument(Document document) {
    super.addDocument(document);
    ChangeStreamOplog oplog = recordingOplog();
    if (oplog != null) oplog.recordInsert(getFullName(), document);
  }

  @Override
  protected void handleUpdate(Object position, Document oldDocument, Document newDocument) {
    byte[] stored = StoredDocuments.encode(newDocument);
    byte[] previous = documents.put(position, stored);
    addDataSize(stored.length - (previous == null ? 0 : previous.length));
    ChangeStreamOplog oplog = recordingOplog();
    if (oplog != null) {
      // oldDocument is mongo-java-server's deep copy of the stored document, taken before the update
      oplog.recordUpdate(getFullName(), newDocument.get(getIdField()), update, newDocument, recordsImages() ? oldDocument : null);
    }
  }

  @Override
  protected void removeDocument(Object position) {
    byte[] previous = documents.remove(position);
    if (previous == null) throw new NoSuchElementException("no document with key " + position + " in " + getFullName());
    addDataSize(-previous.length);
    ChangeStreamOplog oplog = recordingOplog();
    if (oplog != null) {
      Document before = recordsImages() ? StoredDocuments.decode(previous) : null;
      oplog.recordDelete(getFullName(), position instanceof Missing ? null : position, before);
    }
  }

  @Override
  public synchronized Document updateDocuments(Document selector, Document updateQuery, ArrayFilters arrayFilters,
      boolean isMulti, boolean isUpsert, Oplog oplog) {
    update = updateQuery;
    recording = oplog == storage.oplog();
    try {
      return super.updateDocuments(selector, updateQuery, arrayFilters, isMulti, isUpsert, oplog);
    } finally {
      update = null;
      recording = null;
    }
  }

  @Override
  public synchronized int deleteDocuments(Document selector, int limit, Oplog oplog) {
    recording = oplog == storage.oplog();
    try {
      return super.deleteDocuments(selector, limit, oplog);
    } finally {
      recording = null;
    }
  }

  @Override
  public synchronized Document findAndModify(Document query) {
    update = query.get("update") instanceof Document spec ? spec : null;
    try {
      return super.findAndModify(query);
    } finally {
      update = null;
    }
  }

  /**
   * The oplog, when this change goes into it: not for the local database and system collections,
   * nor for a write that was given another oplog than the server's (mongo-java-server gives
   * {@code NoopOplog} to writes that must leave no entry; a caller may give one that records
   * them its own way, and mongo-java-server's notifications then go there, as before).
   */
  private ChangeStreamOplog recordingOplog() {
    if (ChangeStreamOplog.DATABASE.equals(getDatabaseName()) || getCollectionName().startsWith("system.")) return null;
    boolean on = recording != null ? recording : storage.recording();
    return on ? storage.oplog() : null;
  }

  @Override
  protected boolean tracksDataSize() {
    return false; // kept here, from the stored sizes, without encoding each document once more
  }

  @Override
  protected void updateDataSize(int sizeDelta) {
    addDataSize(sizeDelta);
  }

  private void addDataSize(long delta) {
    statistics.merge(DATA_SIZE, delta, Long::sum);
  }

  /** Bytes of the stored documents. */
  long storedBytes() {
    return statistics.getOrDefault(DATA_SIZE, 0L);
  }

  @Override
  protected int getDataSize() {
    return (int) Math.min(Integer.MAX_VALUE, storedBytes());
  }

  // ---- reads --------------------------------------------------------------------------------

  @Override
  public int count() {
    return documents.size();
  }

  @Override
  public boolean isEmpty() {
    return documents.isEmpty();
  }

  @Override
  protected Document getDocument(Object position) {
    byte[] stored = documents.get(position);
    if (stored == null) return null;
    storage.examined();
    return StoredDocuments.decode(stored);
  }

  /** The key under which a document with this {@code _id} is stored, or null. */
  Object storedKey(Object id) {
    Object key = documents.ceilingKey(id);
    return key != null && DocumentKeyType.INSTANCE.compare(key, id) == 0 ? key : null;
  }

  Object firstKey() {
    return documents.isEmpty() ? null : documents.firstKey();
  }

  Object lastKey() {
    return documents.isEmpty() ? null : documents.lastKey();
  }

  /** The document stored under {@code key}, or null. */
  Document find(Object key) {
    return getDocument(key);
  }

  /** At most {@code max} documents from {@code key} on, in key order. */
  List<Document> readFrom(Object key, boolean inclusive, int max) {
    KeyScan scan = new KeyScan(storage.store, documents, KeyRange.from(key, inclusive), false, document -> true, 0, max,
        storage::examined);
    return scan.next(max, Long.MAX_VALUE).stream().map(KeyScan.Found::document).toList();
  }

  /** Not synchronized: a query reads the store's current version and holds no lock of the collection. */
  @Override
  public QueryResult handleQuery(QueryParameters parameters) {
    Document selector = parameters.getQuerySelector();
    Document query;
    Document orderBy;
    if (selector.containsKey("query")) {
      query = (Document) selector.get("query");
      orderBy = (Document) selector.get("orderby");
    } else if (selector.containsKey("$query")) {
      query = (Document) selector.get("$query");
      orderBy = (Document) selector.get("$orderby");
    } else {
      query = selector;
      orderBy = null;
    }
    return queryDocuments(query, orderBy, parameters.getNumberToSkip(), parameters.getLimit(), parameters.getBatchSize(),
        parameters.getProjection());
  }

  /**
   * A batch size of 0 is how the server queries itself (updates, deletes, counts, aggregations):
   * then the whole result, read a chunk at a time as it is iterated. Otherwise the first batch,
   * and a cursor when more is left.
   */
  @Override
  protected QueryResult queryDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document projection) {
    Document filter = query == null ? new Document() : query;
    Supplier<DocumentCursor.Batches> plan = () -> plan(filter, orderBy, skip, limit, projection);
    if (batchSize <= 0) return new QueryResult(() -> all(plan.get()));
    DocumentCursor.Batches batches = plan.get();
    List<Document> first = batches.next(batchSize, DocumentCursor.MAX_BATCH_BYTES);
    if (batches.done()) return new QueryResult(first);
    DocumentCursor cursor = new DocumentCursor(cursorRegistry.generateCursorId(), batches);
    cursorRegistry.add(cursor);
    return new QueryResult(first, cursor);
  }

  @Override
  protected QueryResult matchDocuments(Document query, Document orderBy, int skip, int limit, int batchSize, Document projection) {
    return queryDocuments(query, orderBy, skip, limit, batchSize, projection);
  }

  private DocumentCursor.Batches plan(Document query, Document orderBy, int skip, int limit, Document projection) {
    KeyRange range = getIdField() == null ? KeyRange.ALL : KeyRange.of(query, getIdField(), value -> value);
    if (keyedByTimestamp) {
      range = range.intersect(KeyRange.of(query, "ts", value -> value instanceof BsonTimestamp ts ? ts.getValue() : null));
    }
    Boolean reverse = keyOrder(orderBy);
    if (reverse == null) return sorted(range, query, orderBy, skip, limit, projection);
    KeyScan scan = new KeyScan(storage.store, documents, range, reverse, document -> documentMatchesQuery(document, query),
        skip, limit, storage::examined);
    return new DocumentCursor.Batches() {
      @Override
      public List<Document> next(int maxDocuments, long maxBytes) {
        return project(scan.next(maxDocuments, maxBytes).stream().map(KeyScan.Found::document).toList(), projection);
      }

      @Override
      public boolean done() {
        return scan.done();
      }
    };
  }

  /** True: descending key order; false: ascending; null: another order. */
  private Boolean keyOrder(Document orderBy) {
    if (orderBy == null || orderBy.isEmpty()) return false;
    if (orderBy.size() != 1) return null;
    String field = orderBy.keySet().iterator().next();
    boolean key = field.equals("$natural") || field.equals(getIdField()) || (keyedByTimestamp && field.equals("ts"));
    if (!key || !(orderBy.get(field) instanceof Number direction)) return null;
    return direction.doubleValue() < 0;
  }

  /** Sorted by something else than the key: read the range, keep what is needed, sort it. */
  private DocumentCursor.Batches sorted(KeyRange range, Document query, Document orderBy, int skip, int limit, Document projection) {
    KeyScan scan = new KeyScan(storage.store, documents, range, false, document -> documentMatchesQuery(document, query), 0, 0,
        storage::examined);
    record Ranked(Document document, long seq) {}
    Comparator<Document> byDocument = deriveComparator(orderBy);
    Comparator<Ranked> order = Comparator.<Ranked, Document>comparing(Ranked::document, byDocument).thenComparingLong(Ranked::seq);
    long keep = limit > 0 ? (long) skip + limit : Long.MAX_VALUE;
    List<Ranked> ranked = new ArrayList<>();
    PriorityQueue<Ranked> top = keep < Long.MAX_VALUE ? new PriorityQueue<>(order.reversed()) : null;
    long seq = 0;
    while (!scan.done()) {
      for (KeyScan.Found found : scan.next(CHUNK, Long.MAX_VALUE)) {
        Ranked next = new Ranked(found.document(), seq++);
        if (top == null) {
          ranked.add(next);
        } else {
          top.add(next);
          if (top.size() > keep) top.poll();
        }
      }
    }
    if (top != null) ranked.addAll(top);
    ranked.sort(order);
    List<Document> result = ranked.stream().skip(skip).limit(limit > 0 ? limit : Long.MAX_VALUE).map(Ranked::document).toList();
    List<Document> projected = project(result, projection);
    return new DocumentCursor.Batches() {
      private int next;

      @Override
      public List<Document> next(int maxDocuments, long maxBytes) {
        int to = (int) Math.min(projected.size(), (long) next + maxDocuments);
        List<Document> batch = projected.subList(next, to);
        next = to;
        return batch;
      }

      @Override
      public boolean done() {
        return next >= projected.size();
      }
    };
  }

  private List<Document> project(List<Document> found, Document projection) {
    if (projection == null || projection.isEmpty() || found.isEmpty()) return found;
    return matchDocumentsFromStream(new Document(), found.stream(), 0, 0, 0, null, projection).collectDocuments();
  }

  private static Iterator<Document> all(DocumentCursor.Batches batches) {
    return new Iterator<>() {
      private Iterator<Document> batch = List.<Document>of().iterator();

      @Override
      public boolean hasNext() {
        while (!batch.hasNext() && !batches.done()) batch = batches.next(CHUNK, Long.MAX_VALUE).iterator();
        return batch.hasNext();
      }

      @Override
      public Document next() {
        if (!hasNext()) throw new NoSuchElementException();
        return batch.next();
      }
    };
  }

  @Override
  protected Stream<DocumentWithPosition<Object>> streamAllDocumentsWithPosition() {
    KeyScan scan = new KeyScan(storage.store, documents, KeyRange.ALL, false, document -> true, 0, 0, storage::examined);
    Iterator<DocumentWithPosition<Object>> positions = new Iterator<>() {
      private Iterator<KeyScan.Found> batch = List.<KeyScan.Found>of().iterator();

      @Override
      public boolean hasNext() {
        while (!batch.hasNext() && !scan.done()) batch = scan.next(CHUNK, Long.MAX_VALUE).iterator();
        return batch.hasNext();
      }

      @Override
      public DocumentWithPosition<Object> next() {
        if (!hasNext()) throw new NoSuchElementException();
        KeyScan.Found found = batch.next();
        return new DocumentWithPosition<>(found.document(), found.key());
      }
    };
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(positions, Spliterator.ORDERED), false);
  }
}
