package io.tidemark.source;

import org.bson.BsonType;
import org.bson.BsonValue;

/**
 * MongoDB's sort order of BSON values, as far as {@code _id}s need it: values of different types
 * in the server's type order, numbers of any kind as numbers, strings, ObjectIds and dates by
 * value. Other types of the same kind fall back to their extended JSON, which keeps equal values
 * equal.
 */
public final class BsonOrder {
  private BsonOrder() {}

  public static int compare(BsonValue a, BsonValue b) {
    int byType = Integer.compare(rank(a.getBsonType()), rank(b.getBsonType()));
    if (byType != 0) return byType;
    if (a.isNumber()) return Double.compare(a.asNumber().doubleValue(), b.asNumber().doubleValue());
    if (a.isString()) return a.asString().getValue().compareTo(b.asString().getValue());
    if (a.isObjectId()) return a.asObjectId().getValue().compareTo(b.asObjectId().getValue());
    if (a.isDateTime()) return Long.compare(a.asDateTime().getValue(), b.asDateTime().getValue());
    if (a.isBoolean()) return Boolean.compare(a.asBoolean().getValue(), b.asBoolean().getValue());
    return String.valueOf(a).compareTo(String.valueOf(b));
  }

  /**
   * Whether {@code a} and {@code b} are of one kind in the sort order (numbers of any type are one):
   * a range query {@code _id >= a, _id < b} only matches values of that kind.
   */
  public static boolean sameKind(BsonValue a, BsonValue b) {
    return rank(a.getBsonType()) == rank(b.getBsonType());
  }

  /** The server's order of types: MinKey, null, numbers, strings, objects, arrays, binary, ObjectId, booleans, dates, timestamps, regexes, MaxKey. */
  private static int rank(BsonType type) {
    return switch (type) {
      case MIN_KEY -> 0;
      case NULL, UNDEFINED -> 1;
      case INT32, INT64, DOUBLE, DECIMAL128 -> 2;
      case SYMBOL, STRING -> 3;
      case DOCUMENT -> 4;
      case ARRAY -> 5;
      case BINARY -> 6;
      case OBJECT_ID -> 7;
      case BOOLEAN -> 8;
      case DATE_TIME -> 9;
      case TIMESTAMP -> 10;
      case REGULAR_EXPRESSION -> 11;
      case MAX_KEY -> 13;
      default -> 12;
    };
  }
}
