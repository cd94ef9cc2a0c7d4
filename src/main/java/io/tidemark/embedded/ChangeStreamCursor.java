package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A change-stream cursor over {@link ChangeStreamOplog}: remembers the timestamp it has read up
 * to, and on every batch seeks there and reads on. A collection stream ends with an
 * {@code invalidate} event after the collection is dropped.
 */
final class ChangeStreamCursor extends AbstractCursor {
  private final ChangeStreamOplog oplog;
  private final String database;
  private final String collection;
  private final boolean lookUpUpdates;
  private final Aggregation aggregation;
  private long position;
  private boolean inclusive;
  private boolean invalidated;

  private ChangeStreamCursor(
      ChangeStreamOplog oplog, long id, String database, String collection, boolean lookUpUpdates,
      Aggregation aggregation, long position, boolean inclusive) {
    super(id);
    this.oplog = oplog;
    this.database = database;
    this.collection = collection;
    this.lookUpUpdates = lookUpUpdates;
    this.aggregation = aggregation;
    this.position = position;
    this.inclusive = inclusive;
  }

  static ChangeStreamCursor open(ChangeStreamOplog oplog, long id, Document spec, String namespace, Aggregation aggregation) {
    int dot = namespace.indexOf('.');
    String database = namespace.substring(0, dot);
    String collection = namespace.substring(dot + 1);
    if ("1".equals(collection)) collection = null; // db.watch(): every collection of the database
    Object mode = spec.get("fullDocument");
    boolean lookUp = mode != null && !"default".equals(mode);
    Document startAfter = (Document) spec.get("startAfter");
    Document resumeAfter = (Document) spec.get("resumeAfter");
    Object startAt = spec.get("startAtOperationTime");
    long truncatedThrough = oplog.truncatedThrough();
    if (startAfter != null || resumeAfter != null) {
      Document token = startAfter != null ? startAfter : resumeAfter;
      Object data = token.get("_data");
      if (!(data instanceof String hex) || hex.isEmpty() || hex.length() > 18) {
        throw ChangeStreamError.invalidToken("malformed resume token " + token.toString());
      }
      boolean afterInvalidate = hex.length() == 18 && hex.endsWith(ChangeEvents.INVALIDATE_SUFFIX);
      long ts;
      try {
        ts = Long.parseUnsignedLong(hex.length() == 18 ? hex.substring(0, 16) : hex, 16);
      } catch (NumberFormatException e) {
        throw ChangeStreamError.invalidToken("malformed resume token " + token.toString());
      }
      if (afterInvalidate && resumeAfter != null) {
        throw ChangeStreamError.invalidToken(
            "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification; use startAfter");
      }
      if (ts <= truncatedThrough) {
        throw ChangeStreamError.historyLost("The oplog was truncated through " + describe(truncatedThrough) + ".");
      }
      if (oplog.entryAt(ts) == null) {
        throw ChangeStreamError.tokenNotFound("No oplog entry at " + describe(ts) + ".");
      }
      return new ChangeStreamCursor(oplog, id, database, collection, lookUp, aggregation, ts, false);
    }
    if (startAt instanceof BsonTimestamp time) {
      if (time.getValue() <= truncatedThrough) {
        throw ChangeStreamError.historyLost("The oplog was truncated through " + describe(truncatedThrough) + ".");
      }
      return new ChangeStreamCursor(oplog, id, database, collection, lookUp, aggregation, time.getValue(), true);
    }
    long now = Math.max(oplog.newest(), Instant.now().getEpochSecond() << 32);
    return new ChangeStreamCursor(oplog, id, database, collection, lookUp, aggregation, now, false);
  }

  private static String describe(long ts) {
    return "Timestamp(" + (ts >>> 32) + ", " + (ts & 0xffffffffL) + ")";
  }

  @Override
  public boolean isEmpty() {
    return invalidated;
  }

  @Override
  public List<Document> takeDocuments(int numberToReturn) {
    List<Document> batch = new ArrayList<>();
    if (invalidated) return batch;
    for (Map.Entry<Object, Document> item : oplog.from(position, inclusive)) {
      position = (Long) item.getKey();
      inclusive = false;
      Document entry = item.getValue();
      if (!watches(entry)) continue;
      Document event = ChangeEvents.event(entry, lookUpUpdates, oplog);
      if (event == null) continue;
      batch.addAll(aggregation.runStages(Stream.of(event)));
      if (collection != null && "drop".equals(event.get("operationType"))) {
        batch.add(ChangeEvents.invalidate(entry));
        invalidated = true;
        break;
      }
      if (numberToReturn > 0 && batch.size() >= numberToReturn) break;
    }
    return batch;
  }

  private boolean watches(Document entry) {
    String namespace = (String) entry.get("ns");
    if (collection == null) {
      return namespace.startsWith(database + ".") && !namespace.startsWith(database + ".system.");
    }
    if (namespace.equals(database + "." + collection)) return true;
    return namespace.equals(database + ".$cmd")
        && entry.get("o") instanceof Document command
        && collection.equals(command.get("drop"));
  }
}
