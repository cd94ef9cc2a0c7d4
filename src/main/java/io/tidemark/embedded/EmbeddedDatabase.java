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
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVMap;

/**
 * A database of the embedded server: its collections are {@link EmbeddedCollection}s, their
 * {@code _id} index is their own map ({@link IdIndex}), other unique indexes are
 * {@link UniqueIndex}es; dropping and renaming take their maps along. A {@code find} without a
 * batch size answers with a first batch of 101 documents and a cursor, as a mongod does, instead
 * of the whole result.
 */
final class EmbeddedDatabase extends AbstractSynchronizedMongoDatabase<Object> {
  /** A mongod's first batch when the client names no batch size. */
  static final int DEFAULT_FIRST_BATCH = 101;

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
    if (!command.equalsIgnoreCase("find")) return super.handleCommand(channel, command, query, resolver, oplog);
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
