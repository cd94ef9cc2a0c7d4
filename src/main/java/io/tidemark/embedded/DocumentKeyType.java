package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.backend.ValueComparator;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.nio.ByteBuffer;
import org.h2.mvstore.WriteBuffer;
import org.h2.mvstore.type.BasicDataType;

/**
 * The key of a stored document (its {@code _id}): kept as one BSON value (type byte and value),
 * and ordered as MongoDB orders {@code _id} values (by type, then value; numbers by value across
 * int, long, double and decimal), so that the store's own order is the {@code _id} index and a
 * range of {@code _id}s is a range of the map. A missing or null {@code _id} is
 * {@link Missing}, stored as BSON null.
 */
final class DocumentKeyType extends BasicDataType<Object> {
  static final DocumentKeyType INSTANCE = new DocumentKeyType();

  private DocumentKeyType() {}

  @Override
  public int compare(Object a, Object b) {
    if (a.getClass() == b.getClass()) {
      // the common cases, without ValueComparator's type lookup; each agrees with it
      if (a instanceof Long x) return Long.compare(x, (Long) b);
      if (a instanceof String x) return x.compareTo((String) b);
      if (a instanceof ObjectId x) return x.compareTo((ObjectId) b);
      if (a instanceof Integer x) return Integer.compare(x, (Integer) b);
    }
    return ValueComparator.asc().compare(a, b);
  }

  @Override
  public int getMemory(Object key) {
    if (key instanceof String s) return 48 + 2 * s.length();
    if (key instanceof Number || key instanceof ObjectId) return 32;
    return 128;
  }

  @Override
  public void write(WriteBuffer out, Object key) {
    byte[] bytes = bytes(key);
    out.putVarInt(bytes.length).put(bytes);
  }

  @Override
  public Object read(ByteBuffer in) {
    byte[] bytes = new byte[org.h2.mvstore.DataUtils.readVarInt(in)];
    in.get(bytes);
    return value(bytes);
  }

  @Override
  public Object[] createStorage(int size) {
    return new Object[size];
  }

  /** The key as a type byte and a BSON value. */
  static byte[] bytes(Object key) {
    ByteBuf buffer = Unpooled.buffer(32);
    try {
      Object value = key instanceof Missing ? null : key;
      byte type = BsonEncoder.determineType(value);
      buffer.writeByte(type);
      BsonEncoder.encodeValue(type, value, buffer);
      byte[] bytes = new byte[buffer.readableBytes()];
      buffer.readBytes(bytes);
      return bytes;
    } finally {
      buffer.release();
    }
  }

  static Object value(byte[] bytes) {
    ByteBuf buffer = Unpooled.wrappedBuffer(bytes);
    byte type = buffer.readByte();
    Object value = type == BsonConstants.TYPE_NULL ? null : BsonDecoder.decodeValue(type, buffer);
    return Missing.ofNullable(value);
  }
}
