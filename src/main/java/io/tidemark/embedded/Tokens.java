package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import de.bwaldvogel.mongo.wire.bson.BsonEncoder;

/**
 * Resume tokens of the embedded server. Like a replica set's, {@code _data} starts with
 * {@code 82} and the oplog timestamp in 16 hex digits (seconds, then increment), so that clients
 * which read the time out of a token (as Tidemark does for heartbeats) read it here too; then a
 * kind: nothing for an event, {@code 01} for an invalidate, {@code 02} for a high-water mark after
 * an entry (a postBatchResumeToken: everything up to and including that time was read),
 * {@code 03ffnn} for fragment ff of nn of a split event, {@code 04} for a high-water mark at a time
 * (the postBatchResumeToken of a stream that starts there and has read nothing of it yet; as a
 * replica set's high-water mark, it sorts before any event of its time), {@code 05oooooooo} for
 * operation o of a transaction (all of whose events share one time). Strings of at most 16 hex
 * digits (earlier tokens of the kit, mongo-java-server's own) are timestamps.
 */
final class Tokens {
  private Tokens() {}

  enum Kind {
    EVENT,
    INVALIDATE,
    HIGH_WATER_MARK,
    FRAGMENT,
    START,
    TRANSACTION_OP
  }

  /** A token read: its time and kind; fragment ff of nn of a split event; op, the index of an operation of a transaction. */
  record Parsed(long ts, Kind kind, int fragment, int fragments, int op) {
    Parsed(long ts, Kind kind, int fragment, int fragments) {
      this(ts, kind, fragment, fragments, 0);
    }
  }

  static Document event(long ts) {
    return new Document("_data", String.format("82%016x", ts));
  }

  static Document invalidate(long ts) {
    return new Document("_data", String.format("82%016x01", ts));
  }

  static Document highWaterMark(long ts) {
    return new Document("_data", String.format("82%016x02", ts));
  }

  /** A position at {@code ts}: nothing at or after that time has been read. */
  static Document startAt(long ts) {
    return new Document("_data", String.format("82%016x04", ts));
  }

  /** The event of operation {@code op} (from 0) of the transaction logged at {@code ts}. */
  static Document transactionOp(long ts, int op) {
    return new Document("_data", String.format("82%016x05%08x", ts, op));
  }

  static Document fragment(long ts, int fragment, int fragments) {
    return new Document("_data", String.format("82%016x03%02x%02x", ts, fragment, fragments));
  }

  /** Null when the token is not one of ours. */
  static Parsed parse(Object data) {
    if (!(data instanceof String hex) || hex.isEmpty()) return null;
    try {
      if (hex.length() <= 16) return new Parsed(Long.parseUnsignedLong(hex, 16), Kind.EVENT, 0, 0);
      if (!hex.startsWith("82") || hex.length() < 18) return null;
      long ts = Long.parseUnsignedLong(hex.substring(2, 18), 16);
      String kind = hex.substring(18);
      if (kind.isEmpty()) return new Parsed(ts, Kind.EVENT, 0, 0);
      if (kind.equals("01")) return new Parsed(ts, Kind.INVALIDATE, 0, 0);
      if (kind.equals("02")) return new Parsed(ts, Kind.HIGH_WATER_MARK, 0, 0);
      if (kind.equals("04")) return new Parsed(ts, Kind.START, 0, 0);
      if (kind.length() == 10 && kind.startsWith("05")) return new Parsed(ts, Kind.TRANSACTION_OP, 0, 0, Integer.parseInt(kind.substring(2), 16));
      if (kind.length() == 6 && kind.startsWith("03")) {
        return new Parsed(ts, Kind.FRAGMENT, Integer.parseInt(kind.substring(2, 4), 16), Integer.parseInt(kind.substring(4, 6), 16));
      }
      return null;
    } catch (NumberFormatException e) {
      return null;
    }
  }

  /** The BSON size of a document, as the wire would carry it. */
  static int bsonSize(Document document) {
    ByteBuf buffer = Unpooled.buffer();
    try {
      BsonEncoder.encodeDocument(document, buffer);
      return buffer.readableBytes();
    } finally {
      buffer.release();
    }
  }
}
