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
 * to, and on every batch seeks there and reads on. It watches a collection, a database, or every
 * database but the internal ones (a deployment's stream, opened on admin with
 * {@code allChangesForCluster}). A collection stream ends with an {@code invalidate} event after
 * the collection is dropped or renamed, a database stream after the database is dropped. An event larger than the
 * server's limit fails the cursor with {@code BSONObjectTooLarge} (10334), naming the event's
 * {@code _id}, or is split into fragments when the pipeline ends with
 * {@code $changeStreamSplitLargeEvent}.
 */
final class ChangeStreamCursor extends AbstractCursor {
  /** Databases no stream reports, and none may be opened on (but admin, for the deployment's stream). */
  private static final java.util.Set<String> INTERNAL_DATABASES = java.util.Set.of("admin", "config", "local");

  /** Set by the backend in the $changeStream stage when the pipeline asked to split large events. */
  static final String SPLIT_LARGE_EVENTS = "tidemarkSplitLargeEvents";

  private final ChangeStreamOplog oplog;
  private final String database;
  private final String collection;
  private final ChangeEvents.Shape shape;
  private final Aggregation aggregation;
  private final int maxEventBytes;
  private final boolean splitLargeEvents;
  private long position;
  private boolean inclusive;
  private int skipFragments;
  private int skipOperations;
  private boolean invalidated;

  private ChangeStreamCursor(
      ChangeStreamOplog oplog, long id, String database, String collection, ChangeEvents.Shape shape,
      Aggregation aggregation, int maxEventBytes, boolean splitLargeEvents, long position, boolean inclusive, int skipFragments) {
    super(id);
    this.oplog = oplog;
    this.database = database;
    this.collection = collection;
    this.shape = shape;
    this.aggregation = aggregation;
    this.maxEventBytes = maxEventBytes;
    this.splitLargeEvents = splitLargeEvents;
    this.position = position;
    this.inclusive = inclusive;
    this.skipFragments = skipFragments;
  }

  static ChangeStreamCursor open(ChangeStreamOplog oplog, long id, Document spec, String namespace, Aggregation aggregation) {
    int dot = namespace.indexOf('.');
    String database = namespace.substring(0, dot);
    String collection = namespace.substring(dot + 1);
    if ("1".equals(collection)) collection = null; // db.watch(): every collection of the database
    if (Boolean.TRUE.equals(spec.get("allChangesForCluster"))) {
      if (!"admin".equals(database) || collection != null) {
        throw ChangeStreamError.refused(72, "InvalidOptions", "A $changeStream with 'allChangesForCluster:true' may only be opened"
            + " on the 'admin' database, and with no collection name; found " + namespace);
      }
      database = null; // client.watch(): every database but the internal ones
    } else if (INTERNAL_DATABASES.contains(database)) {
      throw ChangeStreamError.refused(73, "InvalidNamespace", "$changeStream may not be opened on the internal " + database + " database");
    } else if (collection != null && collection.startsWith("system.")) {
      throw ChangeStreamError.refused(73, "InvalidNamespace", "$changeStream may not be opened on the internal " + namespace + " collection");
    }
    ChangeEvents.Shape shape = ChangeEvents.Shape.of(spec);
    boolean split = Boolean.TRUE.equals(spec.get(SPLIT_LARGE_EVENTS));
    int maxEventBytes = oplog.maxEventBytes();
    Document startAfter = (Document) spec.get("startAfter");
    Document resumeAfter = (Document) spec.get("resumeAfter");
    Object startAt = spec.get("startAtOperationTime");
    if (startAfter != null && resumeAfter != null) {
      throw ChangeStreamError.conflictingOptions(50865, "Do not specify both 'resumeAfter' and 'startAfter' in a $changeStream stage");
    }
    long truncatedThrough = oplog.truncatedThrough();
    if (startAfter != null || resumeAfter != null) {
      Document token = startAfter != null ? startAfter : resumeAfter;
      Tokens.Parsed parsed = Tokens.parse(token.get("_data"));
      if (parsed == null) throw ChangeStreamError.invalidToken("malformed resume token " + token);
      if (startAt != null) {
        throw ChangeStreamError.conflictingOptions(40674, "Only one type of resume option is allowed, but multiple were found");
      }
      if (parsed.kind() == Tokens.Kind.INVALIDATE && resumeAfter != null) {
        throw ChangeStreamError.invalidToken(
            "Attempting to resume a change stream using 'resumeAfter' is not allowed from an invalidate notification; use startAfter");
      }
      if (parsed.ts() <= truncatedThrough) {
        throw ChangeStreamError.historyLost("The oplog was truncated through " + describe(truncatedThrough) + ".");
      }
      boolean position = parsed.kind() == Tokens.Kind.HIGH_WATER_MARK || parsed.kind() == Tokens.Kind.START;
      if (!position) {
        Document entry = oplog.entryAt(parsed.ts());
        if (entry == null) throw ChangeStreamError.tokenNotFound("No oplog entry at " + describe(parsed.ts()) + ".");
        if (parsed.kind() == Tokens.Kind.TRANSACTION_OP) {
          List<?> operations = transactionOperations(entry);
          if (operations == null || parsed.op() >= operations.size()) {
            throw ChangeStreamError.tokenNotFound("No transaction operation " + parsed.op() + " at " + describe(parsed.ts()) + ".");
          }
          entry = (Document) operations.get(parsed.op());
        }
        if (!watches(entry, database, collection)) {
          throw ChangeStreamError.tokenOfAnotherStream("The event at " + describe(parsed.ts()) + " is of " + entry.get("ns")
              + ", not of " + (collection != null ? database + "." + collection : "database " + database) + ".");
        }
      }
      if (parsed.kind() == Tokens.Kind.FRAGMENT && parsed.fragment() < parsed.fragments()) {
        // Within a split event: go on with its next fragment.
        return new ChangeStreamCursor(oplog, id, database, collection, shape, aggregation, maxEventBytes, split,
            parsed.ts(), true, parsed.fragment());
      }
      if (parsed.kind() == Tokens.Kind.TRANSACTION_OP) {
        // Within a transaction: go on with its next operation.
        ChangeStreamCursor cursor = new ChangeStreamCursor(oplog, id, database, collection, shape, aggregation, maxEventBytes, split,
            parsed.ts(), true, 0);
        cursor.skipOperations = parsed.op() + 1;
        return cursor;
      }
      boolean inclusive = parsed.kind() == Tokens.Kind.START;
      return new ChangeStreamCursor(oplog, id, database, collection, shape, aggregation, maxEventBytes, split, parsed.ts(), inclusive, 0);
    }
    if (startAt instanceof BsonTimestamp time) {
      if (time.getValue() <= truncatedThrough) {
        throw ChangeStreamError.historyLost("The oplog was truncated through " + describe(truncatedThrough) + ".");
      }
      if (time.getValue() < oplog.historyStart()) {
        throw ChangeStreamError.historyLost("The oplog starts at " + describe(oplog.historyStart()) + ", after "
            + describe(time.getValue()) + ".");
      }
      return new ChangeStreamCursor(oplog, id, database, collection, shape, aggregation, maxEventBytes, split, time.getValue(), true, 0);
    }
    long now = Math.max(oplog.newest(), Instant.now().getEpochSecond() << 32);
    return new ChangeStreamCursor(oplog, id, database, collection, shape, aggregation, maxEventBytes, split, now, false, 0);
  }

  private static String describe(long ts) {
    return "Timestamp(" + (ts >>> 32) + ", " + (ts & 0xffffffffL) + ")";
  }

  @Override
  public boolean isEmpty() {
    return invalidated;
  }

  /**
   * Where a resume would continue after the last batch: after the last entry read, or, before the
   * first, at the start, so that it never stands before the position the stream was opened at.
   */
  Document postBatchResumeToken() {
    return inclusive ? Tokens.startAt(position) : Tokens.highWaterMark(position);
  }

  @Override
  public List<Document> takeDocuments(int numberToReturn) {
    List<Document> batch = new ArrayList<>();
    if (invalidated) return batch;
    long truncatedThrough = oplog.truncatedThrough();
    if (inclusive ? position <= truncatedThrough : position < truncatedThrough) {
      // The oplog rolled over the cursor's position while it waited: entries it had not read are gone.
      throw ChangeStreamError.historyLost("The oplog was truncated through " + describe(truncatedThrough)
          + ", past this cursor's position " + describe(position) + ".");
    }
    for (Map.Entry<Object, Document> item : oplog.from(position, inclusive)) {
      long ts = (Long) item.getKey();
      Document entry = item.getValue();
      List<?> operations = transactionOperations(entry);
      if (operations != null) {
        batch.addAll(transactionEvents(entry, ts, operations));
        skipOperations = 0;
        position = ts;
        inclusive = false;
        if (numberToReturn > 0 && batch.size() >= numberToReturn) break;
        continue;
      }
      if (!watches(entry)) {
        position = ts;
        inclusive = false;
        continue;
      }
      Document event = ChangeEvents.event(entry, shape, oplog);
      if (event == null) {
        position = ts;
        inclusive = false;
        continue;
      }
      List<Document> matched = aggregation.runStages(Stream.of(event));
      for (Document output : matched) {
        if (!event.get("_id").equals(output.get("_id"))) throw ChangeStreamError.idModified();
      }
      if (!matched.isEmpty() && maxEventBytes > 0 && Tokens.bsonSize(matched.get(0)) > maxEventBytes) {
        if (!splitLargeEvents) throw ChangeStreamError.tooLarge(Tokens.bsonSize(matched.get(0)), maxEventBytes, event.get("_id"));
        List<Document> fragments = ChangeEvents.split(matched.get(0), ts, maxEventBytes);
        matched = fragments.subList(Math.min(skipFragments, fragments.size()), fragments.size());
      }
      skipFragments = 0;
      position = ts;
      inclusive = false;
      batch.addAll(matched);
      if (ends(event)) {
        batch.add(ChangeEvents.invalidate(entry));
        invalidated = true;
        break;
      }
      if (numberToReturn > 0 && batch.size() >= numberToReturn) break;
    }
    return batch;
  }

  /** The operations of a transaction's entry (applyOps), or null when it is no transaction. */
  private static List<?> transactionOperations(Document entry) {
    return "c".equals(entry.get("op")) && entry.get("o") instanceof Document command && command.get("applyOps") instanceof List<?> operations
        ? operations
        : null;
  }

  /**
   * The events of a transaction this stream watches, from the operation after the one resumed
   * after: each with a token of its own, the transaction's time, lsid and txnNumber.
   */
  private List<Document> transactionEvents(Document entry, long ts, List<?> operations) {
    List<Document> events = new ArrayList<>();
    for (int i = skipOperations; i < operations.size(); i++) {
      Document operation = ((Document) operations.get(i)).cloneDeeply();
      operation.append("ts", entry.get("ts")).append("wall", entry.get("wall"));
      if (!watches(operation)) continue;
      Document event = ChangeEvents.event(operation, shape, oplog);
      if (event == null) continue;
      event.put("_id", Tokens.transactionOp(ts, i));
      event.append("lsid", entry.get("lsid")).append("txnNumber", entry.get("txnNumber"));
      List<Document> matched = aggregation.runStages(Stream.of(event));
      for (Document output : matched) {
        if (!event.get("_id").equals(output.get("_id"))) throw ChangeStreamError.idModified();
        // Fragments are numbered per oplog entry: an event of a transaction over the limit is not split.
        if (maxEventBytes > 0 && Tokens.bsonSize(output) > maxEventBytes) {
          throw ChangeStreamError.tooLarge(Tokens.bsonSize(output), maxEventBytes, event.get("_id"));
        }
      }
      events.addAll(matched);
    }
    return events;
  }

  /** Whether the event ends this stream: its collection dropped or renamed, its database dropped. */
  private boolean ends(Document event) {
    Object type = event.get("operationType");
    if (collection != null) return "drop".equals(type) || "rename".equals(type);
    return database != null && "dropDatabase".equals(type);
  }

  private boolean watches(Document entry) {
    return watches(entry, database, collection);
  }

  /**
   * Whether an oplog entry is of the collection watched, or, when that is null, of the database,
   * or, when that is null too, of any database but the internal ones.
   */
  static boolean watches(Document entry, String database, String collection) {
    String namespace = (String) entry.get("ns");
    if (database == null) {
      int dot = namespace.indexOf('.');
      return dot > 0 && !INTERNAL_DATABASES.contains(namespace.substring(0, dot))
          && !namespace.substring(dot + 1).startsWith("system.");
    }
    if (collection == null) {
      return namespace.startsWith(database + ".") && !namespace.startsWith(database + ".system.");
    }
    String watched = database + "." + collection;
    if (namespace.equals(watched)) return true;
    return namespace.equals(database + ".$cmd")
        && entry.get("o") instanceof Document command
        && (collection.equals(ChangeEvents.commandCollection(command)) || watched.equals(command.get("renameCollection")));
  }
}
