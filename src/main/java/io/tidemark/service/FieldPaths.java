package io.tidemark.service;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.bson.BsonDocument;
import org.bson.BsonValue;

/**
 * Dotted field paths ({@code customer.name}) over BSON documents, for the declarative transforms.
 * A path goes through sub-documents; an array, or any other value, ends it (an array is kept,
 * dropped or renamed whole).
 */
final class FieldPaths {
  private FieldPaths() {}

  /** Whether {@code path} is {@code prefix} or a field inside it ({@code a.b} is inside {@code a}; {@code ab} is not). */
  static boolean within(String path, String prefix) {
    return path.equals(prefix) || path.startsWith(prefix + ".");
  }

  /** Whether {@code path} is inside {@code ancestor}, not equal to it. */
  static boolean strictlyWithin(String path, String ancestor) {
    return path.startsWith(ancestor + ".");
  }

  /** The part of {@code path} after {@code ancestor.} ({@code path} must be strictly within it). */
  static String relative(String path, String ancestor) {
    return path.substring(ancestor.length() + 1);
  }

  /** The value at {@code path}, or null when there is none. */
  static BsonValue get(BsonDocument document, String path) {
    BsonValue value = document;
    for (String part : path.split("\\.", -1)) {
      if (!(value instanceof BsonDocument nested) || !nested.containsKey(part)) return null;
      value = nested.get(part);
    }
    return value;
  }

  /** Removes the value at {@code path}; returns it, or null when there was none. */
  static BsonValue remove(BsonDocument document, String path) {
    int dot = path.indexOf('.');
    if (dot < 0) return document.remove(path);
    return document.get(path.substring(0, dot)) instanceof BsonDocument nested ? remove(nested, path.substring(dot + 1)) : null;
  }

  /**
   * Sets the value at {@code path}, making the sub-documents on the way; a value on the way that is
   * not a document is replaced by one.
   */
  static void set(BsonDocument document, String path, BsonValue value) {
    int dot = path.indexOf('.');
    if (dot < 0) {
      document.put(path, value);
      return;
    }
    String head = path.substring(0, dot);
    BsonDocument nested;
    if (document.get(head) instanceof BsonDocument existing) {
      nested = existing;
    } else {
      nested = new BsonDocument();
      document.put(head, nested);
    }
    set(nested, path.substring(dot + 1), value);
  }

  /**
   * Moves the value at {@code from} to {@code to} (replacing what is there). Within one
   * sub-document the field keeps its place among the others. Nothing at {@code from}: nothing changes.
   */
  static void move(BsonDocument document, String from, String to) {
    BsonValue value = get(document, from);
    if (value == null) return;
    String parent = parent(from);
    if (parent.equals(parent(to)) && (parent.isEmpty() ? document : get(document, parent)) instanceof BsonDocument siblings) {
      String oldName = leaf(from);
      String newName = leaf(to);
      BsonDocument renamed = new BsonDocument();
      for (Map.Entry<String, BsonValue> field : siblings.entrySet()) {
        if (field.getKey().equals(oldName)) {
          renamed.put(newName, field.getValue());
        } else if (!field.getKey().equals(newName)) {
          renamed.put(field.getKey(), field.getValue());
        }
      }
      siblings.clear();
      siblings.putAll(renamed);
      return;
    }
    remove(document, from);
    set(document, to, value);
  }

  /**
   * The fields at {@code paths} (and their ancestors, as sub-documents holding only them), in the
   * document's order, as MongoDB's inclusion projection keeps them: a sub-document on a path
   * whose field is missing stays, empty.
   */
  static BsonDocument project(BsonDocument document, List<String> paths) {
    BsonDocument kept = new BsonDocument();
    for (Map.Entry<String, BsonValue> field : document.entrySet()) {
      String name = field.getKey();
      if (paths.contains(name)) {
        kept.put(name, field.getValue());
        continue;
      }
      List<String> inner = new ArrayList<>();
      for (String path : paths) {
        if (strictlyWithin(path, name)) inner.add(relative(path, name));
      }
      if (!inner.isEmpty() && field.getValue() instanceof BsonDocument nested) kept.put(name, project(nested, inner));
    }
    return kept;
  }

  private static String parent(String path) {
    int dot = path.lastIndexOf('.');
    return dot < 0 ? "" : path.substring(0, dot);
  }

  private static String leaf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }
}
