package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.backend.Constants;
import de.bwaldvogel.mongo.backend.Index;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.DuplicateKeyError;
import java.util.List;

/**
 * The unique {@code _id} index of an {@link EmbeddedCollection}: the collection's own map, which
 * is keyed by {@code _id}, so it keeps no entries of its own and costs a write nothing. Queries
 * do not go through it: the collection reads key ranges of its map directly.
 */
final class IdIndex extends Index<Object> {
  private final EmbeddedCollection collection;

  IdIndex(String name, EmbeddedCollection collection) {
    super(name, List.of(new IndexKey(Constants.ID_FIELD, true)), false);
    this.collection = collection;
  }

  private static Object id(Document document) {
    return Missing.ofNullable(document.get(Constants.ID_FIELD));
  }

  @Override
  public Object getPosition(Document document) {
    return collection.storedKey(id(document));
  }

  @Override
  public void checkAdd(Document document, MongoCollection<Object> target) {
    if (collection.storedKey(id(document)) != null) {
      throw new DuplicateKeyError(this, target, getKeys(), new KeyValue(document.get(Constants.ID_FIELD)));
    }
  }

  @Override
  public void add(Document document, Object position, MongoCollection<Object> target) {
    // the collection's map is the index
  }

  @Override
  public Object remove(Document document) {
    return collection.storedKey(id(document));
  }

  @Override
  public boolean canHandle(Document query) {
    return false;
  }

  @Override
  public Iterable<Object> getPositions(Document query) {
    return List.of();
  }

  @Override
  public long getCount() {
    return collection.count();
  }

  @Override
  public long getDataSize() {
    return getCount();
  }

  @Override
  public void checkUpdate(Document oldDocument, Document newDocument, MongoCollection<Object> target) {
    // _id is immutable: an update that changes it fails before it gets here
  }

  @Override
  public void updateInPlace(Document oldDocument, Document newDocument, Object position, MongoCollection<Object> target) {
    // the key does not change
  }

  @Override
  public void drop() {
    // nothing of its own to drop
  }

  @Override
  public boolean isUnique() {
    return true;
  }
}
