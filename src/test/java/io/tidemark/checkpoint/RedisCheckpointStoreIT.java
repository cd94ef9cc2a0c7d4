package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.RedisServers;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint contract on Redis (127.0.0.1:6379, required in CI), each store with a connection
 * of its own as on another node, under a key prefix of this run; and what only this store does:
 * its keys, a wrong or unreachable URI named without its password.
 */
class RedisCheckpointStoreIT extends CheckpointStoreContract {
  private final String prefix = RedisServers.uniquePrefix("checkpoints");
  private final RedisCheckpointSettings settings = RedisCheckpointSettings.create(ConfigFactory.load())
      .withUri(RedisServers.URI).withKeyPrefix(prefix).withHistorySize(10);
  private final List<RedisCheckpointStore> stores = new CopyOnWriteArrayList<>();
  private RedisCheckpointStore adminStore;

  @BeforeAll
  void requireRedis() {
    RedisServers.requireRedis();
  }

  @AfterAll
  void closeStores() {
    stores.forEach(RedisCheckpointStore::close);
    RedisServers.deleteKeys(prefix);
  }

  @Override
  RedisCheckpointStore newStore() {
    RedisCheckpointStore store = RedisCheckpointStore.create(settings);
    stores.add(store);
    return store;
  }

  @Override
  int historySize() {
    return settings.historySize;
  }

  @Override
  Optional<CheckpointAdmin> admin() {
    if (adminStore == null) adminStore = newStore();
    return Optional.of(new RedisCheckpointAdmin(adminStore));
  }

  @Override
  boolean storeCorruptToken(String stream, String raw) {
    RedisClient client = RedisClient.create(RedisServers.URI);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      connection.sync().hset(prefix + "{" + stream + "}", "checkpoint", raw);
      connection.sync().hset(prefix + "{" + stream + "}", "epoch", "3");
    } finally {
      client.shutdown();
    }
    return true;
  }

  @Test
  void aStreamIsOneHashWithItsHistoryBesideIt() throws Exception {
    String orders = stream("orders");
    StreamCheckpoints record = await(newStore().open(orders));
    long epoch = await(record.acquire()).epoch();
    assertThat(epoch).isEqualTo(1);
    await(record.save(checkpointAt(orders, 41), epoch));
    await(record.save(checkpointAt(orders, 42).as(CheckpointKind.GAP, "skipped"), epoch));
    RedisClient client = RedisClient.create(RedisServers.URI);
    try (StatefulRedisConnection<String, String> connection = client.connect()) {
      assertThat(connection.sync().hget(prefix + "{" + orders + "}", "epoch")).isEqualTo("1");
      assertThat(connection.sync().hget(prefix + "{" + orders + "}", "holder")).isEqualTo("1");
      assertThat(connection.sync().llen(prefix + "{" + orders + "}:history")).isEqualTo(1);
      assertThat(connection.sync().llen(prefix + "{" + orders + "}:notable")).isEqualTo(1);
      assertThat(connection.sync().sismember(prefix + "streams", orders)).isTrue();
      await(record.close());
      assertThat(connection.sync().hexists(prefix + "{" + orders + "}", "holder")).isFalse();
    } finally {
      client.shutdown();
    }
  }

  @Test
  void aWrongUriIsRefusedNamingItWithoutItsPassword() {
    assertThatThrownBy(() -> settings.withUri("http://user:secret@127.0.0.1:6379"))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("'http://user:***@127.0.0.1:6379'").hasMessageContaining("expected redis://")
        .hasMessageNotContaining("secret");
    assertThatThrownBy(() -> settings.withUri("redis://:secret@127.0.0.1:notaport"))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("'redis://:***@127.0.0.1:notaport'").hasMessageContaining("no host and port")
        .hasMessageNotContaining("secret");
  }

  @Test
  void anUnreachableRedisIsReportedAsUnavailableNamingTheUri() throws Exception {
    String nowhere = "redis://:secret@127.0.0.1:" + Clusters.freePort();
    try (RedisCheckpointStore lost = RedisCheckpointStore.create(
        settings.withUri(nowhere).withTimeouts(Duration.ofSeconds(2), Duration.ofSeconds(5)))) {
      StreamCheckpoints record = await(lost.open(stream("lost")));
      assertThat(Await.failureOf(record.acquire())).isInstanceOf(CheckpointStoreUnavailableException.class)
          .hasMessageContaining("could not take an epoch").hasMessageContaining("redis://:***@127.0.0.1:")
          .hasMessageContaining("expected a Redis server reachable at tidemark.checkpoint.redis.uri")
          .hasMessageNotContaining("secret");
      assertThatThrownBy(() -> new RedisCheckpointAdmin(lost).ready()).isInstanceOf(TidemarkException.class)
          .hasMessageContaining("redis://:***@127.0.0.1:").hasMessageNotContaining("secret");
    }
  }
}
