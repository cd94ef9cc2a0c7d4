package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * One multi-document transaction. Its statements run on a private in-memory copy of the
 * collections it touches, each copied when the transaction first touches it (the transaction's
 * snapshot of that collection), so it reads its own writes and nobody else sees them. At commit,
 * under the server's write lock, every document it wrote is checked against the copy it started
 * from: if another write changed it meanwhile, the commit fails with {@code WriteConflict} (112,
 * {@code TransientTransactionError}) and nothing is applied; else its final documents are written
 * and the oplog gets one entry for the whole transaction ({@code applyOps}, with its lsid and
 * txnNumber), so change streams deliver its events together. An abort drops the copy.
 *
 * <p>This is optimistic snapshot isolation, where MongoDB's is pessimistic: a conflict is found at
 * commit, not at the conflicting write, and a write outside the transaction is never blocked by it.
 * Copying costs time and memory in the size of the collections touched: transactions here are for
 * tests and small collections.
 */
final class Transaction {
  /** Cursor ids of a transaction's cursors, far from the server's own (which count from 1). */
  private static final long CURSOR_IDS = 1L << 62;

  private enum State { ACTIVE, COMMITTED, ABORTED }

  /** A document of a collection. */
  private record Key(String database, String collection, Object id) {
    String namespace() {
      return database + "." + collection;
    }
  }

  private final ReplicaSetBackend server;
  private final Document lsid;
  private final long txnNumber;
  private final long cursorBase;
  private final Instant started = Instant.now();
  private final Shadow shadow;
  /** Per namespace copied, each document as copied (the transaction's snapshot). */
  private final Map<String, Map<Object, Document>> snapshots = new HashMap<>();
  /** The documents written, in the order first written. */
  private final Set<Key> written = new LinkedHashSet<>();
  /** The operations, as oplog entries of their own would record them. */
  private final List<Document> operations = new ArrayList<>();
  /** Each document written, as the transaction's last operation on it left it (null: deleted); for pre- and post-images. */
  private final Map<Key, Document> latest = new HashMap<>();
  private State state = State.ACTIVE;

  Transaction(ReplicaSetBackend server, Document lsid, long txnNumber, long serial) {
    this.server = server;
    this.lsid = lsid.cloneDeeply();
    this.txnNumber = txnNumber;
    this.cursorBase = CURSOR_IDS + (serial << 24);
    this.shadow = new Shadow(new Recorder());
  }

  long txnNumber() {
    return txnNumber;
  }

  Instant started() {
    return started;
  }

  synchronized boolean isActive() {
    return state == State.ACTIVE;
  }

  synchronized boolean isCommitted() {
    return state == State.COMMITTED;
  }

  /** Runs a statement on the transaction's copy. A statement that fails aborts the transaction, as in MongoDB. */
  synchronized Document run(Channel channel, String databaseName, String command, Document query) {
    try {
      Document reply = statement(channel, databaseName, command.toLowerCase(Locale.ROOT), command, query);
      if (reply.get("writeErrors") instanceof List<?> errors && !errors.isEmpty()) abort();
      return reply;
    } catch (RuntimeException e) {
      abort();
      throw e;
    }
  }

  private Document statement(Channel channel, String databaseName, String name, String command, Document query) {
    switch (name) {
      case "getmore": {
        Document local = query.cloneDeeply();
        local.put(command, local(((Number) query.get(command)).longValue()));
        return external(shadow.handleCommand(channel, databaseName, command, local));
      }
      case "killcursors": {
        Document local = query.cloneDeeply();
        local.put("cursors", ((List<?>) query.get("cursors")).stream().map(id -> local(((Number) id).longValue())).toList());
        return shadow.handleCommand(channel, databaseName, command, local);
      }
      default:
        break;
    }
    if (query.get(command) instanceof String collection) copy(channel, databaseName, collection);
    if (name.equals("update") && PipelineUpdates.any(query)) {
      MongoDatabase database = shadow.resolveDatabase(databaseName);
      return PipelineUpdates.execute(database, shadow::resolveDatabase, (Recorder) shadow.oplog(), query,
          one -> shadow.handleCommand(channel, databaseName, one.keySet().iterator().next(), one));
    }
    if (name.equals("findandmodify")) return findAndModify(channel, databaseName, command, query);
    return external(shadow.handleCommand(channel, databaseName, command, query));
  }

  /**
   * mongo-java-server's findAndModify logs nothing: the document it changed is found by running it
   * for the new document, and the operation recorded from before and after.
   */
  private Document findAndModify(Channel channel, String databaseName, String command, Document query) {
    String collection = String.valueOf(query.get(command));
    Document filter = query.get("query") instanceof Document q ? q : new Document();
    Document selector = new Document("$query", filter);
    if (query.get("sort") instanceof Document sort) selector.append("$orderby", sort);
    Document before = first(databaseName, collection, selector);
    Document forNew = query.cloneDeeply();
    forNew.put("new", true);
    forNew.remove("fields");
    Document reply = shadow.handleCommand(channel, databaseName, command, forNew);
    Document value = reply.get("value") instanceof Document v ? v : null;
    String namespace = databaseName + "." + collection;
    boolean remove = Boolean.TRUE.equals(query.get("remove"));
    if (remove) {
      if (value != null) recordDelete(namespace, value.get("_id"));
    } else if (value != null && before != null && Objects.equals(before.get("_id"), value.get("_id"))) {
      if (!value.equals(before)) recordUpdate(namespace, value.get("_id"), query.get("update"), value);
    } else if (value != null) {
      recordInsert(namespace, value);
      reply.put("lastErrorObject", new Document("n", 1).append("updatedExisting", false).append("upserted", value.get("_id")));
    }
    boolean returnNew = Boolean.TRUE.equals(query.get("new"));
    Document answer = remove || returnNew ? value : before;
    if (answer != null && query.get("fields") instanceof Document fields && !fields.isEmpty()) {
      MongoDatabase database = shadow.resolveDatabase(databaseName);
      answer = Aggregation.fromPipeline(List.of(new Document("$project", fields)), shadow::resolveDatabase, database, null, NoopOplog.get())
          .runStages(java.util.stream.Stream.of(answer)).get(0);
    }
    reply.put("value", answer);
    return reply;
  }

  private Document first(String databaseName, String collectionName, Document selector) {
    MongoCollection<?> collection = shadow.resolveDatabase(databaseName).resolveCollection(collectionName, false);
    if (collection == null) return null;
    for (Document document : collection.handleQuery(selector, 0, 1)) return document.cloneDeeply();
    return null;
  }

  /** Copies a collection of the server into the transaction's copy, once: the transaction's snapshot of it. */
  private void copy(Channel channel, String databaseName, String collectionName) {
    String namespace = databaseName + "." + collectionName;
    if (snapshots.containsKey(namespace)) return;
    Map<Object, Document> snapshot = new HashMap<>();
    snapshots.put(namespace, snapshot);
    MongoCollection<?> source = server.collection(databaseName, collectionName);
    if (source == null) return;
    MongoDatabase target = shadow.resolveDatabase(databaseName);
    List<Document> indexes = new ArrayList<>();
    for (var index : source.getIndexes()) {
      if (!"_id_".equals(index.getName())) indexes.add(index.toIndexDescription());
    }
    if (indexes.isEmpty()) {
      target.handleCommand(channel, "create", new Document("create", collectionName), shadow::resolveDatabase, NoopOplog.get());
    } else {
      target.handleCommand(channel, "createIndexes", new Document("createIndexes", collectionName).append("indexes", indexes),
          shadow::resolveDatabase, NoopOplog.get());
    }
    List<Document> documents = new ArrayList<>();
    for (Document document : source.queryAll()) {
      Document copy = document.cloneDeeply();
      documents.add(copy);
      snapshot.put(copy.get("_id"), document.cloneDeeply());
    }
    if (!documents.isEmpty()) target.resolveCollection(collectionName, true).insertDocuments(documents, true);
  }

  /**
   * Commits, with the server's write lock held: checks each written document against the
   * snapshot, then writes the final documents and one oplog entry.
   */
  synchronized void commit(Channel channel, ChangeStreamOplog oplog) {
    if (state != State.ACTIVE) return;
    for (Key key : written) {
      Document before = snapshots.getOrDefault(key.namespace(), Map.of()).get(key.id());
      Document now = server.document(key.database(), key.collection(), key.id());
      if (!Objects.equals(before, now)) {
        abort();
        throw TransactionError.writeConflict(key.namespace() + " _id " + key.id() + " was written outside the transaction");
      }
    }
    for (Key key : written) {
      MongoCollection<?> copy = shadow.resolveDatabase(key.database()).resolveCollection(key.collection(), false);
      Document result = null;
      if (copy != null) {
        for (Document document : copy.handleQuery(new Document("_id", key.id()), 0, 1)) result = document.cloneDeeply();
      }
      server.writeFinal(channel, key.database(), key.collection(), key.id(), result);
    }
    if (oplog != null) oplog.handleTransaction(lsid, txnNumber, operations);
    state = State.COMMITTED;
    release();
  }

  synchronized void abort() {
    if (state != State.ACTIVE) return;
    state = State.ABORTED;
    release();
  }

  private void release() {
    shadow.close();
    snapshots.clear();
    operations.clear();
    written.clear();
    latest.clear();
  }

  // ---- cursors ------------------------------------------------------------------------------

  private long local(long external) {
    return external >= cursorBase ? external - cursorBase : external;
  }

  /** The reply with its cursor id made one of the transaction's range, so it cannot be taken for a server cursor. */
  private Document external(Document reply) {
    if (reply.get("cursor") instanceof Document cursor && cursor.get("id") instanceof Number id && id.longValue() != 0) {
      cursor.put("id", cursorBase + id.longValue());
    }
    return reply;
  }

  // ---- the operations -----------------------------------------------------------------------

  private void recordInsert(String namespace, Document document) {
    operations.add(new Document("op", "i").append("ns", namespace).append("o", document.cloneDeeply()));
    written.add(key(namespace, document.get("_id")));
    latest.put(key(namespace, document.get("_id")), document.cloneDeeply());
  }

  private void recordUpdate(String namespace, Object id, Object update, Document current) {
    Document operation = new Document("op", "u").append("ns", namespace);
    boolean replacement;
    if (update instanceof Document spec && ChangeEvents.isReplacement(spec)) {
      operation.append("o", spec.cloneDeeply()).append("o2", new Document("_id", id)).append("replacement", true);
      replacement = true;
    } else if (update instanceof Document spec) {
      operation.append("o", spec.cloneDeeply()).append("o2", new Document("_id", id))
          .append("updateDescription", ChangeEvents.updateDescription(spec, current));
      replacement = false;
    } else {
      return;
    }
    images(operation, key(namespace, id), current, !replacement);
    operations.add(operation);
    written.add(key(namespace, id));
  }

  private void recordDelete(String namespace, Object id) {
    Document operation = new Document("op", "d").append("ns", namespace).append("o", new Document("_id", id));
    images(operation, key(namespace, id), null, false);
    operations.add(operation);
    written.add(key(namespace, id));
  }

  /**
   * Adds the document before the operation (and, with {@code post}, after it) to the operation when
   * its collection records pre- and post-images, as the server's own writes do; and remembers what
   * the operation left ({@code after}, null: deleted) as the next operation's pre-image.
   */
  private void images(Document operation, Key key, Document after, boolean post) {
    Document before = latest.containsKey(key) ? latest.get(key) : snapshots.getOrDefault(key.namespace(), Map.of()).get(key.id());
    if (server.collection(key.database(), key.collection()) instanceof EmbeddedCollection collection && collection.recordsImages()
        && before != null) {
      operation.append(ChangeStreamOplog.PRE_IMAGE, before.cloneDeeply());
      if (post && after != null) operation.append(ChangeStreamOplog.POST_IMAGE, after.cloneDeeply());
    }
    latest.put(key, after == null ? null : after.cloneDeeply());
  }

  private static Key key(String namespace, Object id) {
    int dot = namespace.indexOf('.');
    return new Key(namespace.substring(0, dot), namespace.substring(dot + 1), id);
  }

  private Document current(String namespace, Object id) {
    Key key = key(namespace, id);
    MongoCollection<?> collection = shadow.resolveDatabase(key.database()).resolveCollection(key.collection(), false);
    if (collection == null) return null;
    for (Document document : collection.handleQuery(new Document("_id", id), 0, 1)) return document;
    return null;
  }

  /** Records the writes mongo-java-server logs, as the operations of the transaction. */
  private final class Recorder implements Oplog, PipelineUpdates.Log {
    @Override
    public void handleInsert(String namespace, List<Document> documents) {
      documents.forEach(document -> recordInsert(namespace, document));
    }

    @Override
    public void handleUpdate(String namespace, Document selector, Document update, List<Object> modifiedIds) {
      for (Object id : modifiedIds) recordUpdate(namespace, id, update, current(namespace, id));
    }

    @Override
    public void handleDescribedUpdate(String namespace, Object id, Document description, Document before, Document after) {
      Document operation = new Document("op", "u").append("ns", namespace).append("o", new Document())
          .append("o2", new Document("_id", id)).append("updateDescription", description.cloneDeeply());
      images(operation, key(namespace, id), after, true);
      operations.add(operation);
      written.add(key(namespace, id));
    }

    @Override
    public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
      deletedIds.forEach(id -> recordDelete(namespace, id));
    }

    @Override
    public void handleDropCollection(String namespace) {
      throw TransactionError.notSupported("drop");
    }

    @Override
    public Cursor createCursor(Document changeStreamDocument, String namespace, Aggregation aggregation) {
      throw TransactionError.notSupported("$changeStream");
    }
  }

  /**
   * The transaction's copy: mongo-java-server's in-memory backend, whose oplog records the
   * transaction's operations. (Not an H2 backend over an in-memory MVStore: its unique indexes
   * compare keys by Java-serializing them, which made copying a collection of a few hundred
   * documents cost most of a transaction's time.)
   */
  private static final class Shadow extends MemoryBackend {
    Shadow(Oplog recorder) {
      this.oplog = recorder;
    }

    Oplog oplog() {
      return oplog;
    }
  }
}
