package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.AbstractSynchronizedMongoDatabase;
import de.bwaldvogel.mongo.backend.CollectionOptions;
import de.bwaldvogel.mongo.backend.Constants;
import de.bwaldvogel.mongo.backend.CursorRegistry;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVMap;

/**
 * A database of the embedded server: its collections are {@link EmbeddedCollection}s, their
 * {@code _id} index is their own map ({@link IdIndex}), other unique indexes are
 * {@link UniqueIndex}es; dropping and renaming take their maps along. A {@code find} without a
 * batch size answers with a first batch of 101 documents and a cursor, as a mongod does, instead
 * of the whole result. It logs the DDL a replica set logs (a collection's creation, by
 * {@code create} or by a first write; {@code createIndexes}; {@code dropIndexes}; {@code collMod})
 * for change streams' expanded events, and keeps each collection's
 * {@code changeStreamPreAndPostImages} option ({@code create}, {@code collMod}, {@code listCollections}).
 */
final class EmbeddedDatabase extends AbstractSynchronizedMongoDatabase<Object> {
  /** A mongod's first batch when the client names no batch size. */
  static final int DEFAULT_FIRST_BATCH = 101;
  /** The collection option of pre- and post-images, in create, collMod, listCollections and the oplog. */
  private static final String IMAGES = "changeStreamPreAndPostImages";
  /** Fields any command may carry, that {@code collMod} does not read as options. */
  private static final java.util.Set<String> GENERIC_FIELDS = java.util.Set.of(
      "collMod", "lsid", "txnNumber", "autocommit", "writeConcern", "comment", "maxTimeMS", "apiVersion", "apiStrict",
      "apiDeprecationErrors");

  private final Storage storage;

  EmbeddedDatabase(String name, CursorRegistry cursors, Storage storage) {
    super(name, cursors);
    this.storage = storage;
    initializeNamespacesAndIndexes();
  }

  @Override
  public Document handleCommand(Channel channel, String command, Document query, de.bwaldvogel.mongo.backend.DatabaseResolver resolver,
      Oplog oplog) {
    return storage.command(oplog, () -> run(channel, command, query, resolver, oplog));
  }

  private Document run(Channel channel, String command, Document query, de.bwaldvogel.mongo.backend.DatabaseResolver resolver, Oplog oplog) {
    switch (command.toLowerCase(java.util.Locale.ROOT)) {
      case "create":
        return create(query);
      case "collmod":
        return collMod(query);
      case "createindexes":
      case "dropindexes":
        return indexCommand(channel, command, query, resolver, oplog);
      case "listcollections":
        return describeCollections(super.handleCommand(channel, command, query, resolver, oplog));
      case "find":
        return find(channel, command, query, resolver, oplog);
      default:
        return super.handleCommand(channel, command, query, resolver, oplog);
    }
  }

  private Document find(Channel channel, String command, Document query, de.bwaldvogel.mongo.backend.DatabaseResolver resolver, Oplog oplog) {
    boolean singleBatch = Boolean.TRUE.equals(query.get("singleBatch"));
    if (!(query.get("batchSize") instanceof Number size) || size.intValue() <= 0) query.put("batchSize", DEFAULT_FIRST_BATCH);
    if (query.get("limit") instanceof Number limit && limit.intValue() < 0) {
      // a negative limit (legacy form): that many, in one batch
      query.put("limit", -limit.intValue());
      singleBatch = true;
    }
    Document response = super.handleCommand(channel, command, query, resolver, oplog);
    if (singleBatch && response.get("cursor") instanceof Document cursor && cursor.get("id") instanceof Number id && id.longValue() != 0) {
      cursorRegistry.remove(id.longValue());
      cursor.put("id", 0L);
    }
    return response;
  }

  // ---- collections: their options and the oplog entries of their DDL --------------------------

  /**
   * {@code create}, with the option {@code changeStreamPreAndPostImages: {enabled: true}} (the
   * collection's updates, replacements and deletes then keep the document before and after in
   * their oplog entries, for change streams' {@code fullDocumentBeforeChange} and
   * {@code fullDocument: whenAvailable}); mongo-java-server's other options as before.
   */
  private Document create(Document query) {
    String name = String.valueOf(query.get("create"));
    Boolean images = imagesOption(query);
    CollectionOptions options = CollectionOptions.fromQuery(query);
    options.validate();
    Document logged = new Document();
    if (Boolean.TRUE.equals(images)) logged.append(IMAGES, new Document("enabled", true));
    create(name, options, logged);
    return new Document("ok", 1.0);
  }

  @Override
  public MongoCollection<Object> createCollectionOrThrowIfExists(String collectionName, CollectionOptions options) {
    return create(collectionName, options, new Document());
  }

  /** Creates a collection, with the options in {@code logged}, and logs it as a replica set does ({@code create}). */
  private synchronized MongoCollection<Object> create(String collectionName, CollectionOptions options, Document logged) {
    MongoCollection<Object> created = super.createCollectionOrThrowIfExists(collectionName, options);
    if (created instanceof EmbeddedCollection embedded && logged.get(IMAGES) instanceof Document images) {
      embedded.recordsImages(Boolean.TRUE.equals(images.get("enabled")));
    }
    logCreate(created, logged);
    return created;
  }

  /** A collection made by a write to it (insert, update, findAndModify, createIndexes) is logged as created, as by a replica set. */
  @Override
  protected synchronized MongoCollection<Object> resolveOrCreateCollection(String collectionName) {
    MongoCollection<Object> existing = resolveCollection(collectionName, false);
    if (existing != null) return existing;
    MongoCollection<Object> created = super.resolveOrCreateCollection(collectionName);
    logCreate(created, new Document());
    return created;
  }

  private void logCreate(MongoCollection<Object> created, Document options) {
    ChangeStreamOplog oplog = storage.oplog();
    if (oplog == null || !storage.recording() || !(created instanceof EmbeddedCollection embedded)
        || created.getCollectionName().startsWith("system.")) {
      return; // a write given another oplog leaves no entry, nor does the collection it creates
    }
    Document command = new Document("create", created.getCollectionName())
        .append("idIndex", new Document("v", 2).append("key", new Document("_id", 1)).append("name", "_id_"));
    command.putAll(options);
    oplog.recordCommand(getDatabaseName(), embedded.uuid(), command, null);
  }

  /** The option {@code changeStreamPreAndPostImages: {enabled: <bool>}} of a create or collMod; null when absent. */
  private static Boolean imagesOption(Document query) {
    if (!query.containsKey(IMAGES)) return null;
    if (!(query.get(IMAGES) instanceof Document option)) {
      throw new MongoServerError(14, "TypeMismatch", "BSON field '" + IMAGES + "' is the wrong type, expected type 'object'");
    }
    if (!(option.get("enabled") instanceof Boolean enabled)) {
      throw new MongoServerError(40414, "Location40414", "BSON field '" + IMAGES + ".enabled' is missing but a required field");
    }
    for (String key : option.keySet()) {
      if (!"enabled".equals(key)) throw new MongoServerError(40415, "Location40415", "BSON field '" + IMAGES + "." + key + "' is an unknown field.");
    }
    return enabled;
  }

  /**
   * {@code collMod} with {@code changeStreamPreAndPostImages: {enabled: <bool>}}, the one option
   * this server has (others are refused with InvalidOptions, 72): logged as a replica set logs it,
   * with the options before in {@code o2}, for the {@code modify} event.
   */
  private Document collMod(Document query) {
    String name = String.valueOf(query.get("collMod"));
    for (String key : query.keySet()) {
      if (!key.startsWith("$") && !GENERIC_FIELDS.contains(key) && !IMAGES.equals(key)) {
        throw new MongoServerError(72, "InvalidOptions", "collMod option '" + key + "' is not supported by the embedded server;"
            + " it supports " + IMAGES);
      }
    }
    Boolean images = imagesOption(query);
    MongoCollection<Object> collection = resolveCollection(name, false);
    if (!(collection instanceof EmbeddedCollection embedded)) {
      throw new MongoServerError(26, "NamespaceNotFound", "ns does not exist: " + getFullCollectionNamespace(name));
    }
    if (images != null) {
      Document before = new Document("uuid", embedded.uuid());
      if (embedded.recordsImages()) before.append(IMAGES, new Document("enabled", true));
      embedded.recordsImages(images);
      ChangeStreamOplog oplog = storage.oplog();
      if (oplog != null) {
        oplog.recordCommand(getDatabaseName(), embedded.uuid(),
            new Document("collMod", name).append(IMAGES, new Document("enabled", images)), new Document("collectionOptions_old", before));
      }
    }
    return new Document("ok", 1.0);
  }

  /** {@code createIndexes} and {@code dropIndexes}, each index created or dropped logged as a replica set logs it. */
  private Document indexCommand(Channel channel, String command, Document query, de.bwaldvogel.mongo.backend.DatabaseResolver resolver,
      Oplog oplog) {
    String name = String.valueOf(query.get(command));
    java.util.Map<String, Document> before = indexes(name);
    Document reply = super.handleCommand(channel, command, query, resolver, oplog);
    ChangeStreamOplog changeStreams = storage.oplog();
    if (changeStreams == null || !storage.recording() || !(resolveCollection(name, false) instanceof EmbeddedCollection embedded)) {
      return reply;
    }
    java.util.Map<String, Document> after = indexes(name);
    if (command.equalsIgnoreCase("createIndexes")) {
      after.forEach((index, spec) -> {
        if (before.containsKey(index)) return;
        Document logged = new Document("createIndexes", name);
        logged.putAll(spec);
        changeStreams.recordCommand(getDatabaseName(), embedded.uuid(), logged, null);
      });
    } else {
      before.forEach((index, spec) -> {
        if (after.containsKey(index)) return;
        changeStreams.recordCommand(getDatabaseName(), embedded.uuid(), new Document("dropIndexes", name).append("index", index), spec);
      });
    }
    return reply;
  }

  /**
   * The indexes of a collection by name, each as it was created ({@code v}, {@code key},
   * {@code name}, then its options), from the catalog mongo-java-server keeps in {@code system.indexes}.
   */
  private java.util.Map<String, Document> indexes(String collectionName) {
    java.util.Map<String, Document> indexes = new java.util.LinkedHashMap<>();
    MongoCollection<Object> catalog = resolveCollection("system.indexes", false);
    if (catalog == null) return indexes;
    for (Document description : catalog.handleQuery(new Document("ns", getFullCollectionNamespace(collectionName)))) {
      Document spec = new Document("v", description.getOrDefault("v", 2)).append("key", description.get("key"))
          .append("name", description.get("name"));
      description.forEach((field, value) -> {
        if (!spec.containsKey(field) && !"ns".equals(field)) spec.put(field, value);
      });
      indexes.put(String.valueOf(description.get("name")), spec);
    }
    return indexes;
  }

  /** listCollections with each collection's UUID ({@code info.uuid}) and its {@code changeStreamPreAndPostImages} option. */
  private Document describeCollections(Document reply) {
    if (!(reply.get("cursor") instanceof Document cursor) || !(cursor.get("firstBatch") instanceof List<?> batch)) return reply;
    for (Object item : batch) {
      if (!(item instanceof Document description) || !(description.get("name") instanceof String name)) continue;
      if (!(resolveCollection(name, false) instanceof EmbeddedCollection embedded)) continue;
      if (description.get("info") instanceof Document info) info.put("uuid", embedded.uuid());
      if (embedded.recordsImages() && description.get("options") instanceof Document options) {
        options.put(IMAGES, new Document("enabled", true));
      }
    }
    return reply;
  }

  @Override
  protected MongoCollection<Object> openOrCreateCollection(String collectionName, CollectionOptions options) {
    return new EmbeddedCollection(this, collectionName, options, cursorRegistry, storage);
  }

  @Override
  protected Index<Object> openOrCreateUniqueIndex(String collectionName, String indexName, List<IndexKey> keys, boolean sparse) {
    MongoCollection<Object> collection = resolveCollection(collectionName, false);
    if (keys.size() == 1 && keys.get(0).getKey().equals(Constants.ID_FIELD) && collection instanceof EmbeddedCollection embedded) {
      return new IdIndex(indexName, embedded);
    }
    MVMap<KeyValue, Object> entries = storage.store.openMap(indexMap(collectionName, indexName), UniqueIndex.mapType());
    return new UniqueIndex(entries, indexName, keys, sparse);
  }

  private String indexMap(String collectionName, String indexName) {
    return Storage.INDEXES + getFullCollectionNamespace(collectionName) + "." + indexName;
  }

  @Override
  protected void dropIndex(MongoCollection<Object> collection, String indexName) {
    super.dropIndex(collection, indexName);
    removeMap(indexMap(collection.getCollectionName(), indexName));
  }

  @Override
  public void dropCollection(String collectionName, Oplog oplog) {
    MongoCollection<Object> collection = resolveCollection(collectionName, true);
    super.dropCollection(collectionName, oplog);
    if (collection instanceof EmbeddedCollection embedded) {
      storage.store.removeMap(embedded.documentMap());
      storage.store.removeMap(embedded.statisticsMap());
    }
  }

  @Override
  public void drop(Oplog oplog) {
    super.drop(oplog);
    String namespace = getDatabaseName() + ".";
    for (String name : storage.store.getMapNames()) {
      if (name.startsWith(Storage.DOCUMENTS + namespace) || name.startsWith(Storage.STATISTICS + namespace)
          || name.startsWith(Storage.INDEXES + namespace)) {
        removeMap(name);
      }
    }
  }

  @Override
  public void moveCollection(MongoDatabase oldDatabase, MongoCollection<?> collection, String newCollectionName) {
    String oldName = collection.getFullName();
    List<String> indexNames = collection.getIndexes().stream().map(Index::getName).toList();
    super.moveCollection(oldDatabase, collection, newCollectionName);
    String newName = getFullCollectionNamespace(newCollectionName);
    if (collection instanceof EmbeddedCollection embedded) {
      storage.store.renameMap(embedded.documentMap(), Storage.DOCUMENTS + newName);
      storage.store.renameMap(embedded.statisticsMap(), Storage.STATISTICS + newName);
    }
    for (String index : indexNames) {
      String from = Storage.INDEXES + oldName + "." + index;
      if (storage.store.hasMap(from)) storage.store.renameMap(storage.store.openMap(from, UniqueIndex.mapType()), Storage.INDEXES + newName + "." + index);
    }
  }

  private void removeMap(String name) {
    if (storage.store.hasMap(name)) storage.store.removeMap(name);
  }

  @Override
  protected long getStorageSize() {
    return storage.store.getFileStore() == null ? 0 : storage.store.getFileStore().size();
  }

  @Override
  protected long getFileSize() {
    return getStorageSize();
  }
}
