package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** How oplog entries of the embedded server become change events, in the shape a replica set sends. */
final class ChangeEvents {
  private ChangeEvents() {}

  static final String INVALIDATE_SUFFIX = "01";

  static boolean isReplacement(Document update) {
    return update.keySet().stream().noneMatch(key -> key.startsWith("$"));
  }

  /** updatedFields and removedFields of an update, with the values the document now holds. */
  static Document updateDescription(Document update, Document current) {
    Document updated = new Document();
    List<String> removed = new ArrayList<>();
    for (Map.Entry<String, Object> operator : update.entrySet()) {
      if (!(operator.getValue() instanceof Document fields)) continue;
      switch (operator.getKey()) {
        case "$unset":
          removed.addAll(fields.keySet());
          break;
        case "$rename":
          for (Map.Entry<String, Object> rename : fields.entrySet()) {
            removed.add(rename.getKey());
            updated.put(String.valueOf(rename.getValue()), valueAt(current, String.valueOf(rename.getValue()), null));
          }
          break;
        default:
          for (Map.Entry<String, Object> field : fields.entrySet()) {
            Object fallback = "$set".equals(operator.getKey()) ? field.getValue() : null;
            updated.put(field.getKey(), valueAt(current, field.getKey(), fallback));
          }
      }
    }
    return new Document("updatedFields", updated).append("removedFields", removed).append("truncatedArrays", List.of());
  }

  private static Object valueAt(Document document, String path, Object fallback) {
    Object value = document;
    for (String part : path.split("\\.")) {
      if (!(value instanceof Document nested) || !nested.containsKey(part)) return fallback;
      value = nested.get(part);
    }
    return value;
  }

  static Document token(long ts, boolean invalidate) {
    return new Document("_data", String.format("%016x", ts) + (invalidate ? INVALIDATE_SUFFIX : ""));
  }

  /** The event of a data entry (insert, update, replace, delete), or of a drop. */
  static Document event(Document entry, boolean lookUpUpdates, ChangeStreamOplog oplog) {
    long ts = ((BsonTimestamp) entry.get("ts")).getValue();
    String op = (String) entry.get("op");
    String namespace = (String) entry.get("ns");
    int dot = namespace.indexOf('.');
    String db = namespace.substring(0, dot);
    Document event = new Document("_id", token(ts, false));
    Document object = (Document) entry.get("o");
    switch (op) {
      case "i":
        return event.append("operationType", "insert")
            .append("clusterTime", entry.get("ts"))
            .append("wallTime", entry.get("wall"))
            .append("ns", new Document("db", db).append("coll", namespace.substring(dot + 1)))
            .append("documentKey", new Document("_id", object.get("_id")))
            .append("fullDocument", object.cloneDeeply());
      case "u": {
        Object id = ((Document) entry.get("o2")).get("_id");
        boolean replacement = Boolean.TRUE.equals(entry.get("replacement"));
        event.append("operationType", replacement ? "replace" : "update")
            .append("clusterTime", entry.get("ts"))
            .append("wallTime", entry.get("wall"))
            .append("ns", new Document("db", db).append("coll", namespace.substring(dot + 1)))
            .append("documentKey", new Document("_id", id));
        if (replacement) {
          Document full = new Document("_id", id);
          object.forEach((key, value) -> {
            if (!"_id".equals(key)) full.put(key, value);
          });
          return event.append("fullDocument", full);
        }
        event.append("updateDescription", ((Document) entry.get("updateDescription")).cloneDeeply());
        if (lookUpUpdates) {
          Document current = oplog.currentDocument(namespace, id);
          event.append("fullDocument", current == null ? null : current.cloneDeeply());
        }
        return event;
      }
      case "d":
        return event.append("operationType", "delete")
            .append("clusterTime", entry.get("ts"))
            .append("wallTime", entry.get("wall"))
            .append("ns", new Document("db", db).append("coll", namespace.substring(dot + 1)))
            .append("documentKey", new Document("_id", object.get("_id")));
      case "c":
        if (object.containsKey("drop")) {
          return event.append("operationType", "drop")
              .append("clusterTime", entry.get("ts"))
              .append("wallTime", entry.get("wall"))
              .append("ns", new Document("db", db).append("coll", object.get("drop")));
        }
        return null;
      default:
        return null;
    }
  }

  static Document invalidate(Document entry) {
    long ts = ((BsonTimestamp) entry.get("ts")).getValue();
    return new Document("_id", token(ts, true))
        .append("operationType", "invalidate")
        .append("clusterTime", entry.get("ts"))
        .append("wallTime", entry.get("wall"));
  }
}
