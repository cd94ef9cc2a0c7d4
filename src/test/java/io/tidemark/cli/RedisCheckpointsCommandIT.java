package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.tidemark.Clusters;
import io.tidemark.RedisServers;
import io.tidemark.checkpoint.RedisCheckpointSettings;
import io.tidemark.checkpoint.RedisCheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@code tidemark checkpoints ... --redis URI} against checkpoints written by the Redis store: the
 * {@link CheckpointsCommandScenarios}, "orders" and "held" under a key prefix of this run (given in a
 * --config file). Redis is required in CI.
 */
class RedisCheckpointsCommandIT extends CheckpointsCommandScenarios {
  private final String prefix = RedisServers.uniquePrefix("cli");
  private final RedisCheckpointSettings settings = RedisCheckpointSettings.create(ConfigFactory.load())
      .withUri(RedisServers.URI).withKeyPrefix(prefix);
  private RedisCheckpointStore store;
  private Path config;

  @BeforeAll
  void writeCheckpoints() throws Exception {
    RedisServers.requireRedis();
    config = Files.createTempFile("redis-checkpoints", ".conf");
    Files.writeString(config, "tidemark.checkpoint.redis.key-prefix = \"" + prefix + "\"\n");
    store = RedisCheckpointStore.create(settings);
    writeTheCheckpoints(store);
  }

  @AfterAll
  void shutdown() throws Exception {
    if (store != null) store.close();
    if (config != null) Files.deleteIfExists(config);
    RedisServers.deleteKeys(prefix);
  }

  @Override
  protected String[] storeFlags() {
    return new String[] {"--redis", RedisServers.URI};
  }

  @Override
  protected String[] configFlags() {
    return new String[] {"--config", config.toString()};
  }

  @Override
  protected String storeNamedInErrors() {
    return "Redis at " + RedisServers.URI + " (keys " + prefix + "*)";
  }

  @Override
  protected String[] anotherStoresFlags() {
    return new String[] {"--mongodb", "mongodb://127.0.0.1:1"};
  }

  @Test
  void anUnreachableRedisIsNamedWithoutItsPassword() {
    String nowhere = "redis://:secret@127.0.0.1:" + Clusters.freePort();
    Outcome outcome = execute("checkpoints", "list", "--redis", nowhere);
    assertThat(outcome.exitCode()).isNotZero();
    assertThat(outcome.err()).contains("redis://:***@127.0.0.1:").contains("expected a Redis server").doesNotContain("secret");
  }
}
