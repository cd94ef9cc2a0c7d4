package io.tidemark.source;

import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;

/**
 * What can be read out of a resume token. A replica set's {@code _data} is a hex KeyString that
 * starts with the cluster time of its position: type byte {@code 0x82} (Timestamp), then seconds
 * and increment, 4 bytes each, big-endian. The rest is opaque and stays so.
 */
@akka.annotation.InternalApi
public final class ResumeTokens {
  private ResumeTokens() {}

  private static final String TIMESTAMP_TYPE = "82";

  /** The cluster time a token stands at, or null when it is not of that form. */
  public static BsonTimestamp clusterTime(BsonDocument token) {
    if (token == null || !(token.get("_data") instanceof BsonString data)) return null;
    String hex = data.getValue();
    if (hex.length() < 18 || !hex.regionMatches(true, 0, TIMESTAMP_TYPE, 0, 2)) return null;
    try {
      return new BsonTimestamp(Long.parseUnsignedLong(hex.substring(2, 18), 16));
    } catch (NumberFormatException e) {
      return null;
    }
  }
}
