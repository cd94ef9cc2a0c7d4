package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;

/** Settings of the Redis checkpoint store, from {@code tidemark.checkpoint.redis}. */
public final class RedisCheckpointSettings {
  /** What a Redis URI looks like, for error messages. */
  static final String EXPECTED_URI = "redis://[[user]:password@]host[:port][/database] or rediss://... (TLS)";

  public final String uri;
  public final String keyPrefix;
  public final int historySize;
  public final Duration connectTimeout;
  public final Duration timeout;

  private RedisCheckpointSettings(String uri, String keyPrefix, int historySize, Duration connectTimeout, Duration timeout) {
    if (!uri.startsWith("redis://") && !uri.startsWith("rediss://")) {
      throw new TidemarkException("invalid Redis URI '" + MongoConnector.redact(uri) + "' (tidemark.checkpoint.redis.uri): expected "
          + EXPECTED_URI);
    }
    java.net.URI parsed;
    try {
      parsed = new java.net.URI(uri);
    } catch (java.net.URISyntaxException e) {
      parsed = null;
    }
    if (parsed == null || parsed.getHost() == null) {
      throw new TidemarkException("invalid Redis URI '" + MongoConnector.redact(uri) + "' (tidemark.checkpoint.redis.uri): no host and"
          + " port could be read from it; expected " + EXPECTED_URI);
    }
    this.uri = uri;
    this.keyPrefix = keyPrefix;
    this.historySize = historySize;
    this.connectTimeout = connectTimeout;
    this.timeout = timeout;
  }

  public static RedisCheckpointSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static RedisCheckpointSettings create(Config config) {
    String p = "tidemark.checkpoint.redis.";
    return new RedisCheckpointSettings(
        ConfigCheck.nonEmptyString(config, p + "uri"),
        ConfigCheck.nonEmptyString(config, p + "key-prefix"),
        ConfigCheck.positiveInt(config, p + "history-size"),
        ConfigCheck.positiveDuration(config, p + "connect-timeout"),
        ConfigCheck.positiveDuration(config, p + "timeout"));
  }

  /** The URI as it may be shown: without the password. */
  public String redactedUri() {
    return MongoConnector.redact(uri);
  }

  public RedisCheckpointSettings withUri(String uri) {
    return new RedisCheckpointSettings(uri, keyPrefix, historySize, connectTimeout, timeout);
  }

  public RedisCheckpointSettings withKeyPrefix(String keyPrefix) {
    return new RedisCheckpointSettings(uri, keyPrefix, historySize, connectTimeout, timeout);
  }

  public RedisCheckpointSettings withHistorySize(int historySize) {
    return new RedisCheckpointSettings(uri, keyPrefix, historySize, connectTimeout, timeout);
  }

  public RedisCheckpointSettings withTimeouts(Duration connectTimeout, Duration timeout) {
    return new RedisCheckpointSettings(uri, keyPrefix, historySize, connectTimeout, timeout);
  }

  @Override
  public String toString() {
    return "RedisCheckpointSettings(" + redactedUri() + ", key-prefix " + keyPrefix + ")";
  }
}
