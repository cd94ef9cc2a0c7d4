package io.tidemark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import java.time.Duration;

/**
 * The Redis the tests use: 127.0.0.1:6379 (override with TIDEMARK_TEST_REDIS_URI). Where it is not
 * reachable the Redis tests are skipped, except in CI (CI=true), where that is a failure: CI must run them.
 */
public final class RedisServers {
  private RedisServers() {}

  public static final String URI = env("TIDEMARK_TEST_REDIS_URI", "redis://127.0.0.1:6379");

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  /** Skips the calling test when Redis is unreachable, unless in CI, where it fails. */
  public static void requireRedis() {
    io.lettuce.core.RedisURI uri = io.lettuce.core.RedisURI.create(URI);
    uri.setTimeout(Duration.ofSeconds(5));
    RedisClient client = RedisClient.create(uri);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.sync().ping();
    } catch (RuntimeException e) {
      if (Databases.inCi()) {
        throw new AssertionError("Redis at " + URI + " is required in CI (CI=true) but unreachable: " + Errors.summary(e), e);
      }
      assumeTrue(false, "Redis at " + URI + " unreachable, skipping: " + Errors.summary(e));
    } finally {
      client.shutdown();
    }
  }

  /** A key prefix of this run alone, so that parallel runs do not collide. */
  public static String uniquePrefix(String name) {
    return "tidemark-test:" + name + ":" + Long.toHexString(System.nanoTime()) + ":";
  }

  /** Deletes every key that starts with {@code prefix}. */
  public static void deleteKeys(String prefix) {
    RedisClient client = RedisClient.create(URI);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      ScanCursor cursor = ScanCursor.INITIAL;
      do {
        KeyScanCursor<String> page = connection.sync().scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(500));
        if (!page.getKeys().isEmpty()) connection.sync().del(page.getKeys().toArray(String[]::new));
        cursor = page;
      } while (!cursor.isFinished());
    } finally {
      client.shutdown();
    }
  }
}
