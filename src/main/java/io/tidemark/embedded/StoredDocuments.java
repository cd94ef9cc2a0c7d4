package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.bson.BsonDecoder;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.UncheckedIOException;

/**
 * How the embedded server stores a document: its BSON, as the wire carries it, behind a one-byte
 * format tag. (mongo-java-server's H2 backend stores Java-serialized objects: several kilobytes
 * for a document whose BSON is a hundred bytes.) A document whose BSON would exceed the 16 MiB
 * that a BSON reader accepts — an oplog entry of an update that sets a very large value holds it
 * twice — is stored Java-serialized instead.
 */
final class StoredDocuments {
  private StoredDocuments() {}

  private static final byte BSON = 0;
  private static final byte SERIALIZED = 1;

  static byte[] encode(Document document) {
    ByteBuf buffer = Unpooled.buffer(256);
    try {
      buffer.writeByte(BSON);
      BsonEncoder.encodeDocument(document, buffer);
      if (buffer.readableBytes() - 1 > BsonConstants.MAX_BSON_OBJECT_SIZE) return serialized(document);
      byte[] bytes = new byte[buffer.readableBytes()];
      buffer.readBytes(bytes);
      return bytes;
    } finally {
      buffer.release();
    }
  }

  static Document decode(byte[] stored) {
    if (stored[0] == BSON) return BsonDecoder.decodeBson(Unpooled.wrappedBuffer(stored, 1, stored.length - 1));
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(stored, 1, stored.length - 1))) {
      return (Document) in.readObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (ClassNotFoundException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] serialized(Document document) {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(SERIALIZED);
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(document);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return bytes.toByteArray();
  }
}
