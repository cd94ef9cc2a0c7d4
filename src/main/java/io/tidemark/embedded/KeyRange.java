package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.BsonRegularExpression;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.MaxKey;
import de.bwaldvogel.mongo.bson.MinKey;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.function.Function;

/**
 * The keys a query can match, read from its conditions on the key field ({@code _id}; also
 * {@code ts} in the oplog, whose key is its timestamp): either a set of points ({@code $eq},
 * {@code $in}, a plain value) or an interval ({@code $gt}, {@code $gte}, {@code $lt},
 * {@code $lte}, confined to the type of the bound as MongoDB's comparisons are). Anything else
 * leaves the range open. The range is a superset: every document read is still matched against
 * the whole query.
 */
final class KeyRange {
  static final KeyRange ALL = new KeyRange(null, false, null, false, null);

  /** Lower and upper bound; null: none. */
  final Object lower;
  final boolean lowerInclusive;
  final Object upper;
  final boolean upperInclusive;
  /** The only keys that can match, in key order; null: any in the interval. */
  final List<Object> points;

  private KeyRange(Object lower, boolean lowerInclusive, Object upper, boolean upperInclusive, List<Object> points) {
    this.lower = lower;
    this.lowerInclusive = lowerInclusive;
    this.upper = upper;
    this.upperInclusive = upperInclusive;
    this.points = points;
  }

  /** The keys from {@code key} on. */
  static KeyRange from(Object key, boolean inclusive) {
    return new KeyRange(key, inclusive, null, false, null);
  }

  /**
   * The range of {@code query}'s conditions on {@code field} (at the top level or in a top-level
   * {@code $and}); {@code toKey} turns a condition's value into a key, or null when it cannot.
   */
  static KeyRange of(Document query, String field, Function<Object, Object> toKey) {
    KeyRange range = ALL;
    if (query.containsKey(field)) range = range.intersect(condition(query.get(field), toKey));
    if (query.get("$and") instanceof List<?> all) {
      for (Object clause : all) {
        if (clause instanceof Document document && document.containsKey(field)) {
          range = range.intersect(condition(document.get(field), toKey));
        }
      }
    }
    return range;
  }

  private static KeyRange condition(Object condition, Function<Object, Object> toKey) {
    if (!(condition instanceof Document operators) || operators.keySet().stream().noneMatch(key -> key.startsWith("$"))) {
      return equal(condition, toKey);
    }
    KeyRange range = ALL;
    for (Map.Entry<String, Object> operator : operators.entrySet()) {
      Object value = operator.getValue();
      switch (operator.getKey()) {
        case "$eq" -> range = range.intersect(equal(value, toKey));
        case "$in" -> range = range.intersect(in(value, toKey));
        case "$gt", "$gte", "$lt", "$lte" -> range = range.intersect(bound(operator.getKey(), value, toKey));
        default -> {
          // $ne, $nin, $exists, $type, $regex, $not, ...: no narrower than the interval so far
        }
      }
    }
    return range;
  }

  private static KeyRange equal(Object value, Function<Object, Object> toKey) {
    if (value instanceof BsonRegularExpression || value instanceof Collection) return ALL;
    Object key = value == null ? Missing.getInstance() : toKey.apply(value);
    return key == null ? ALL : points(List.of(key));
  }

  private static KeyRange in(Object values, Function<Object, Object> toKey) {
    if (!(values instanceof Collection<?> list)) return ALL;
    List<Object> keys = new ArrayList<>();
    for (Object value : list) {
      if (value instanceof BsonRegularExpression || value instanceof Collection) return ALL;
      Object key = value == null ? Missing.getInstance() : toKey.apply(value);
      if (key == null) return ALL;
      keys.add(key);
    }
    return points(keys);
  }

  private static KeyRange bound(String operator, Object value, Function<Object, Object> toKey) {
    if (value == null || value instanceof MinKey || value instanceof MaxKey || value instanceof Collection
        || value instanceof BsonRegularExpression) {
      return ALL;
    }
    Object key = toKey.apply(value);
    if (key == null) return ALL;
    return switch (operator) {
      case "$gt" -> new KeyRange(key, false, null, false, null);
      case "$gte" -> new KeyRange(key, true, null, false, null);
      case "$lt" -> new KeyRange(null, false, key, false, null);
      default -> new KeyRange(null, false, key, true, null);
    };
  }

  private static KeyRange points(List<Object> keys) {
    TreeSet<Object> sorted = new TreeSet<>(DocumentKeyType.INSTANCE::compare);
    sorted.addAll(keys);
    return new KeyRange(null, false, null, false, new ArrayList<>(sorted));
  }

  KeyRange intersect(KeyRange other) {
    if (this == ALL) return other;
    if (other == ALL) return this;
    Object low = lower;
    boolean lowInclusive = lowerInclusive;
    if (other.lower != null && (low == null || compareBounds(other.lower, other.lowerInclusive, low, lowInclusive, true) > 0)) {
      low = other.lower;
      lowInclusive = other.lowerInclusive;
    }
    Object high = upper;
    boolean highInclusive = upperInclusive;
    if (other.upper != null && (high == null || compareBounds(other.upper, other.upperInclusive, high, highInclusive, false) < 0)) {
      high = other.upper;
      highInclusive = other.upperInclusive;
    }
    List<Object> keys = points;
    if (other.points != null) {
      keys = keys == null ? other.points : keys.stream().filter(key -> contains(other.points, key)).toList();
    }
    KeyRange interval = new KeyRange(low, lowInclusive, high, highInclusive, null);
    if (keys != null) keys = keys.stream().filter(interval::admits).toList();
    return new KeyRange(low, lowInclusive, high, highInclusive, keys);
  }

  private static boolean contains(List<Object> keys, Object key) {
    return keys.stream().anyMatch(candidate -> DocumentKeyType.INSTANCE.compare(candidate, key) == 0);
  }

  /** Orders two lower (or two upper) bounds; an exclusive lower bound is above an inclusive one of the same key. */
  private static int compareBounds(Object a, boolean aInclusive, Object b, boolean bInclusive, boolean lowerBounds) {
    int order = DocumentKeyType.INSTANCE.compare(a, b);
    if (order != 0 || aInclusive == bInclusive) return order;
    return (aInclusive ? -1 : 1) * (lowerBounds ? 1 : -1);
  }

  /** Whether {@code key} lies within the bounds and in the type of the bounds. */
  boolean admits(Object key) {
    return position(key) == 0;
  }

  /** -1: the key is before the range, 0: within it, 1: after it (in ascending key order). */
  int position(Object key) {
    if (lower != null) {
      if (!sameType(key, lower)) return DocumentKeyType.INSTANCE.compare(key, lower) < 0 ? -1 : 1;
      int order = DocumentKeyType.INSTANCE.compare(key, lower);
      if (order < 0 || (order == 0 && !lowerInclusive)) return -1;
    }
    if (upper != null) {
      if (!sameType(key, upper)) return DocumentKeyType.INSTANCE.compare(key, upper) < 0 ? -1 : 1;
      int order = DocumentKeyType.INSTANCE.compare(key, upper);
      if (order > 0 || (order == 0 && !upperInclusive)) return 1;
    }
    return 0;
  }

  boolean isEmpty() {
    if (points != null) return points.isEmpty();
    if (lower == null || upper == null) return false;
    if (!sameType(lower, upper)) return true;
    int order = DocumentKeyType.INSTANCE.compare(lower, upper);
    return order > 0 || (order == 0 && !(lowerInclusive && upperInclusive));
  }

  /** Comparisons match only values of the same type, numbers of any kind among themselves (type bracketing). */
  static boolean sameType(Object a, Object b) {
    if (a instanceof Number && b instanceof Number) return true;
    return a != null && b != null && a.getClass() == b.getClass();
  }

  /** Where an ascending scan may start: the lower bound, else the first possible key of the upper bound's type, else anywhere. */
  Object scanStart() {
    if (lower != null) return lower;
    if (upper instanceof Number) return Double.NEGATIVE_INFINITY;
    if (upper instanceof String) return "";
    return null;
  }

  @Override
  public String toString() {
    if (points != null) return "points " + points;
    return (lower == null ? "(-" : (lowerInclusive ? "[" : "(") + lower) + ", " + (upper == null ? "+)" : upper + (upperInclusive ? "]" : ")"));
  }
}
