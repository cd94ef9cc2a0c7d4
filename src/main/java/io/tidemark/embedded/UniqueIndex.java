package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.AbstractUniqueIndex;
import de.bwaldvogel.mongo.backend.IndexKey;
import de.bwaldvogel.mongo.backend.KeyValue;
import de.bwaldvogel.mongo.backend.Missing;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.h2.mvstore.DataUtils;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

/**
 * A unique index other than {@code _id}: a map from the indexed values to the document's key,
 * both stored as BSON values (mongo-java-server's H2 index stores them Java-serialized).
 */
final class UniqueIndex extends AbstractUniqueIndex<Object> {
  private final MVMap<KeyValue, Object> entries;

  UniqueIndex(MVMap<KeyValue, Object> entries, String name, List<IndexKey> keys, boolean sparse) {
    super(name, keys, sparse);
    this.entries = entries;
  }

  static MVMap.Builder<KeyValue, Object> mapType() {
    return new MVMap.Builder<KeyValue, Object>().keyType(KeyValueType.INSTANCE).valueType(DocumentKeyType.INSTANCE);
  }

  @Override
  protected Object removeDocument(KeyValue keyValue) {
    return entries.remove(keyValue);
  }

  @Override
  protected boolean putKeyPosition(KeyValue keyValue, Object position) {
    return entries.putIfAbsent(keyValue, Missing.ofNullable(position)) == null;
  }

  @Override
  protected Iterable<Map.Entry<KeyValue, Object>> getIterable() {
    return entries.entrySet();
  }

  @Override
  protected Object getPosition(KeyValue keyValue) {
    return entries.get(keyValue);
  }

  @Override
  public long getCount() {
    return entries.sizeAsLong();
  }

  @Override
  public boolean isEmpty() {
    return entries.isEmpty();
  }

  @Override
  public long getDataSize() {
    return getCount();
  }

  /** Indexed values: each a BSON value, compared one after the other in MongoDB's order. */
  static final class KeyValueType extends BasicDataType<KeyValue> {
    static final KeyValueType INSTANCE = new KeyValueType();

    @Override
    public int compare(KeyValue a, KeyValue b) {
      for (int i = 0; i < Math.min(a.size(), b.size()); i++) {
        int order = DocumentKeyType.INSTANCE.compare(Missing.ofNullable(a.get(i)), Missing.ofNullable(b.get(i)));
        if (order != 0) return order;
      }
      return Integer.compare(a.size(), b.size());
    }

    @Override
    public int getMemory(KeyValue value) {
      return 64 * value.size();
    }

    @Override
    public void write(WriteBuffer out, KeyValue value) {
      out.putVarInt(value.size());
      for (Object part : value) DocumentKeyType.INSTANCE.write(out, Missing.ofNullable(part));
    }

    @Override
    public KeyValue read(ByteBuffer in) {
      int size = DataUtils.readVarInt(in);
      List<Object> parts = new ArrayList<>(size);
      for (int i = 0; i < size; i++) {
        Object part = DocumentKeyType.INSTANCE.read(in);
        parts.add(part instanceof Missing ? null : part);
      }
      return new KeyValue(parts);
    }

    @Override
    public KeyValue[] createStorage(int size) {
      return new KeyValue[size];
    }
  }
}
