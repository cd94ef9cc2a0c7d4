package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** How oplog entries of the embedded server become change events, in the shape a replica set sends. */
final class ChangeEvents {
  private ChangeEvents() {}

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
        case "$push":
          for (Map.Entry<String, Object> field : fields.entrySet()) {
            pushed(field.getKey(), field.getValue(), current, updated);
          }
          break;
        default:
          for (Map.Entry<String, Object> field : fields.entrySet()) {
            Object fallback = "$set".equals(operator.getKey()) ? field.getValue() : null;
            updated.put(field.getKey(), valueAt(current, field.getKey(), fallback));
          }
      }
    }
    return description(updated, removed, List.of());
  }

  private static Document description(Document updated, List<String> removed, List<Document> truncated) {
    return new Document("updatedFields", updated).append("removedFields", removed).append("truncatedArrays", truncated);
  }

  /**
   * A $push that appends is reported as MongoDB reports it: each new element by its index
   * ({@code tags.1}); one that creates the array, or places, sorts or slices, by the whole array.
   * (An empty array that existed before is reported whole too: the post-image cannot tell it from a
   * new one, where MongoDB would say {@code tags.0}.)
   */
  private static void pushed(String path, Object spec, Document current, Document updated) {
    Object value = valueAt(current, path, null);
    int count = 1;
    if (spec instanceof Document modifiers && modifiers.containsKey("$each")) {
      boolean appends = !modifiers.containsKey("$position") && !modifiers.containsKey("$slice") && !modifiers.containsKey("$sort");
      count = appends && modifiers.get("$each") instanceof List<?> each ? each.size() : -1;
    }
    if (!(value instanceof List<?> array) || count < 0 || array.size() <= count) {
      updated.put(path, value);
      return;
    }
    for (int i = array.size() - count; i < array.size(); i++) updated.put(path + "." + i, array.get(i));
  }

  /** The value at a dotted path, through sub-documents and array indexes; {@code fallback} where there is none. */
  private static Object valueAt(Document document, String path, Object fallback) {
    Object value = document;
    for (String part : path.split("\\.")) {
      if (value instanceof Document nested && nested.containsKey(part)) {
        value = nested.get(part);
      } else if (value instanceof List<?> array && isIndex(part) && Integer.parseInt(part) < array.size()) {
        value = array.get(Integer.parseInt(part));
      } else {
        return fallback;
      }
    }
    return value;
  }

  private static boolean isIndex(String part) {
    return !part.isEmpty() && part.length() < 10 && part.chars().allMatch(Character::isDigit);
  }

  /**
   * The update description of a change from {@code before} to {@code after} (a pipeline update),
   * as MongoDB's document diff gives it: new and changed fields by their dotted paths, into
   * sub-documents and arrays (an element by its index); removed fields; arrays made shorter as
   * truncatedArrays.
   */
  static Document difference(Document before, Document after) {
    Document updated = new Document();
    List<String> removed = new ArrayList<>();
    List<Document> truncated = new ArrayList<>();
    documentDifference("", before, after, updated, removed, truncated);
    return description(updated, removed, truncated);
  }

  private static void documentDifference(
      String prefix, Document before, Document after, Document updated, List<String> removed, List<Document> truncated) {
    for (String key : before.keySet()) {
      if (!after.containsKey(key)) removed.add(prefix + key);
    }
    for (Map.Entry<String, Object> field : after.entrySet()) {
      String path = prefix + field.getKey();
      if (!before.containsKey(field.getKey())) {
        updated.put(path, field.getValue());
      } else {
        valueDifference(path, before.get(field.getKey()), field.getValue(), updated, removed, truncated);
      }
    }
  }

  private static void valueDifference(
      String path, Object before, Object after, Document updated, List<String> removed, List<Document> truncated) {
    if (java.util.Objects.equals(before, after)) return;
    if (before instanceof Document b && after instanceof Document a) {
      documentDifference(path + ".", b, a, updated, removed, truncated);
    } else if (before instanceof List<?> b && after instanceof List<?> a) {
      if (a.size() < b.size()) truncated.add(new Document("field", path).append("newSize", a.size()));
      for (int i = 0; i < a.size(); i++) {
        if (i < b.size()) {
          valueDifference(path + "." + i, b.get(i), a.get(i), updated, removed, truncated);
        } else {
          updated.put(path + "." + i, a.get(i));
        }
      }
    } else {
      updated.put(path, after);
    }
  }

  /**
   * What a stream asked its events to carry: {@code fullDocument} ({@code default},
   * {@code updateLookup}, {@code whenAvailable}, {@code required}), {@code fullDocumentBeforeChange}
   * ({@code off}, {@code whenAvailable}, {@code required}) and {@code showExpandedEvents}.
   */
  record Shape(String fullDocument, String beforeChange, boolean expanded) {
    private static final List<String> FULL_DOCUMENT = List.of("default", "updateLookup", "whenAvailable", "required");
    private static final List<String> BEFORE_CHANGE = List.of("off", "whenAvailable", "required");

    /** The options of a {@code $changeStream} stage; a value the server does not know is refused with BadValue (2), as the server's parser does. */
    static Shape of(Document spec) {
      String fullDocument = option(spec, "fullDocument", FULL_DOCUMENT);
      String beforeChange = option(spec, "fullDocumentBeforeChange", BEFORE_CHANGE);
      Object expanded = spec.getOrDefault("showExpandedEvents", false);
      if (!(expanded instanceof Boolean on)) {
        throw ChangeStreamError.refused(14, "TypeMismatch",
            "BSON field '$changeStream.showExpandedEvents' is the wrong type '" + expanded.getClass().getSimpleName() + "', expected type 'bool'");
      }
      return new Shape(fullDocument, beforeChange, on);
    }

    private static String option(Document spec, String field, List<String> values) {
      Object value = spec.get(field);
      if (value == null) return values.get(0);
      if (!values.contains(value)) {
        throw ChangeStreamError.refused(2, "BadValue", "Enumeration value '" + value + "' for field '$changeStream." + field
            + "' is not a valid value; expected one of " + String.join(", ", values));
      }
      return (String) value;
    }

    boolean wantsPreImages() {
      return !"off".equals(beforeChange);
    }
  }

  /** The collection a command entry concerns (drop, create, createIndexes, dropIndexes, collMod), or null. */
  static Object commandCollection(Document command) {
    for (String name : List.of("drop", "create", "createIndexes", "dropIndexes", "collMod")) {
      if (command.containsKey(name)) return command.get(name);
    }
    return null;
  }

  /**
   * The event of a data entry (insert, update, replace, delete), or of a command (drop, rename,
   * dropDatabase; with {@code showExpandedEvents}, create, createIndexes, dropIndexes and modify
   * too); null when the entry makes no event for this stream. Pre- and post-images come from the
   * entry, where a collection that records them keeps them; one that is {@code required} and
   * missing fails the stream with {@code NoMatchingDocument} (47), as MongoDB fails it.
   */
  static Document event(Document entry, Shape shape, ChangeStreamOplog oplog) {
    long ts = ((BsonTimestamp) entry.get("ts")).getValue();
    String op = (String) entry.get("op");
    String namespace = (String) entry.get("ns");
    int dot = namespace.indexOf('.');
    String db = namespace.substring(0, dot);
    Document event = new Document("_id", Tokens.event(ts));
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
          event.append("fullDocument", full);
          return withPreImage(event, entry, shape);
        }
        event.append("updateDescription", ((Document) entry.get("updateDescription")).cloneDeeply());
        switch (shape.fullDocument()) {
          case "updateLookup" -> {
            Document current = oplog.currentDocument(namespace, id);
            event.append("fullDocument", current == null ? null : current.cloneDeeply());
          }
          case "whenAvailable", "required" -> {
            Document post = entry.get(ChangeStreamOplog.POST_IMAGE) instanceof Document image ? image.cloneDeeply() : null;
            if (post == null && "required".equals(shape.fullDocument())) throw ChangeStreamError.imageNotFound("post-image", event);
            event.append("fullDocument", post);
          }
          default -> {
            // no fullDocument on an update
          }
        }
        return withPreImage(event, entry, shape);
      }
      case "d":
        event.append("operationType", "delete")
            .append("clusterTime", entry.get("ts"))
            .append("wallTime", entry.get("wall"))
            .append("ns", new Document("db", db).append("coll", namespace.substring(dot + 1)))
            .append("documentKey", new Document("_id", object.get("_id")));
        return withPreImage(event, entry, shape);
      case "c":
        return commandEvent(event, entry, db, object, shape);
      default:
        return null;
    }
  }

  /** The document before the change, when the stream asks for it: from the entry, or null (whenAvailable), or an error (required). */
  private static Document withPreImage(Document event, Document entry, Shape shape) {
    if (!shape.wantsPreImages()) return event;
    Document before = entry.get(ChangeStreamOplog.PRE_IMAGE) instanceof Document image ? image.cloneDeeply() : null;
    if (before == null && "required".equals(shape.beforeChange())) throw ChangeStreamError.imageNotFound("pre-image", event);
    return event.append("fullDocumentBeforeChange", before);
  }

  /**
   * The event of a command entry: drop, rename, dropDatabase; and, with {@code showExpandedEvents},
   * the events of https://www.mongodb.com/docs/manual/reference/change-events/ marked "expanded":
   * create, createIndexes, dropIndexes, modify (a collMod), each with the collection's UUID and an
   * {@code operationDescription}; drop and rename gain the UUID, rename its {@code to} in the
   * description.
   */
  private static Document commandEvent(Document event, Document entry, String db, Document object, Shape shape) {
    Object uuid = entry.get("ui");
    if (object.containsKey("drop")) {
      event.append("operationType", "drop").append("clusterTime", entry.get("ts"));
      if (shape.expanded() && uuid != null) event.append("collectionUUID", uuid);
      return event.append("wallTime", entry.get("wall")).append("ns", new Document("db", db).append("coll", object.get("drop")));
    }
    if (object.containsKey("dropDatabase")) {
      return event.append("operationType", "dropDatabase")
          .append("clusterTime", entry.get("ts"))
          .append("wallTime", entry.get("wall"))
          .append("ns", new Document("db", db));
    }
    if (object.get("renameCollection") instanceof String from && object.get("to") instanceof String to) {
      event.append("operationType", "rename").append("clusterTime", entry.get("ts"));
      if (shape.expanded() && uuid != null) event.append("collectionUUID", uuid);
      event.append("wallTime", entry.get("wall")).append("ns", namespace(from)).append("to", namespace(to));
      if (shape.expanded()) event.append("operationDescription", new Document("to", namespace(to)));
      return event;
    }
    if (!shape.expanded()) return null;
    String type;
    Document description;
    Document stateBeforeChange = null;
    Object collection = commandCollection(object);
    if (object.containsKey("create")) {
      type = "create";
      description = without(object, "create");
    } else if (object.containsKey("createIndexes")) {
      type = "createIndexes";
      description = new Document("indexes", List.of(without(object, "createIndexes")));
    } else if (object.containsKey("dropIndexes")) {
      type = "dropIndexes";
      description = new Document("indexes", List.of(((Document) entry.get("o2")).cloneDeeply()));
    } else if (object.containsKey("collMod")) {
      type = "modify";
      description = without(object, "collMod");
      if (entry.get("o2") instanceof Document o2 && o2.get("collectionOptions_old") instanceof Document old) {
        stateBeforeChange = new Document("collectionOptions", old.cloneDeeply());
      }
    } else {
      return null;
    }
    event.append("operationType", type).append("clusterTime", entry.get("ts"));
    if (uuid != null) event.append("collectionUUID", uuid);
    event.append("wallTime", entry.get("wall"))
        .append("ns", new Document("db", db).append("coll", collection))
        .append("operationDescription", description);
    if (stateBeforeChange != null) event.append("stateBeforeChange", stateBeforeChange);
    return event;
  }

  private static Document without(Document document, String field) {
    Document copy = new Document();
    document.forEach((key, value) -> {
      if (!field.equals(key)) copy.put(key, value instanceof Document nested ? nested.cloneDeeply() : value);
    });
    return copy;
  }

  private static Document namespace(String full) {
    int dot = full.indexOf('.');
    return new Document("db", full.substring(0, dot)).append("coll", full.substring(dot + 1));
  }

  /** Splits an event into fragments of at most {@code maxBytes}, by its top-level fields, as $changeStreamSplitLargeEvent does. */
  static java.util.List<Document> split(Document event, long ts, int maxBytes) {
    java.util.List<Document> groups = new java.util.ArrayList<>();
    Document current = new Document();
    for (Map.Entry<String, Object> field : event.entrySet()) {
      if ("_id".equals(field.getKey())) continue;
      Document candidate = current.cloneDeeply();
      candidate.put(field.getKey(), field.getValue());
      if (!current.isEmpty() && Tokens.bsonSize(candidate) + 200 > maxBytes) {
        groups.add(current);
        current = new Document();
      }
      current.put(field.getKey(), field.getValue());
    }
    if (!current.isEmpty()) groups.add(current);
    java.util.List<Document> fragments = new java.util.ArrayList<>();
    for (int i = 0; i < groups.size(); i++) {
      Document fragment = new Document("_id", Tokens.fragment(ts, i + 1, groups.size()));
      fragment.putAll(groups.get(i));
      fragment.put("splitEvent", new Document("fragment", i + 1).append("of", groups.size()));
      fragments.add(fragment);
    }
    return fragments;
  }

  static Document invalidate(Document entry) {
    long ts = ((BsonTimestamp) entry.get("ts")).getValue();
    return new Document("_id", Tokens.invalidate(ts))
        .append("operationType", "invalidate")
        .append("clusterTime", entry.get("ts"))
        .append("wallTime", entry.get("wall"));
  }
}
