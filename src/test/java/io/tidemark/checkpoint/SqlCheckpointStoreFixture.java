package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * The checkpoint contract on the plain SQL store, each store with a pool of its own as on another
 * node; and what only this store does: two consumers racing on two nodes, where only the newest
 * epoch's saves land, and the history as a ring of rows that never grows past its bound.
 */
abstract class SqlCheckpointStoreFixture extends CheckpointStoreContract {
  private final List<SqlCheckpointStore> stores = new CopyOnWriteArrayList<>();
  private final ExecutorService executor = Executors.newCachedThreadPool(runnable -> {
    Thread thread = new Thread(runnable, "sql-checkpoints-test");
    thread.setDaemon(true);
    return thread;
  });
  private SqlCheckpointStore adminStore;

  /** The database: its URL, user and password. */
  abstract String url();

  abstract String user();

  abstract String password();

  SqlCheckpointSettings settings() {
    return SqlCheckpointSettings.create(ConfigFactory.parseString("tidemark.checkpoint.sql.url = \"jdbc:h2:mem:unused\"")
            .withFallback(ConfigFactory.load()))
        .withDatabase(url(), user(), password()).withHistorySize(10).withTimeout(Duration.ofSeconds(20));
  }

  @AfterAll
  void closeStores() {
    stores.forEach(SqlCheckpointStore::close);
    executor.shutdownNow();
  }

  @Override
  SqlCheckpointStore newStore() {
    SqlCheckpointStore store = SqlCheckpointStore.create(settings(), executor);
    stores.add(store);
    return store;
  }

  @Override
  int historySize() {
    return 10;
  }

  @Override
  Optional<CheckpointAdmin> admin() {
    if (adminStore == null) adminStore = newStore();
    return Optional.of(new SqlCheckpointAdmin(adminStore));
  }

  Connection connect() throws Exception {
    return DriverManager.getConnection(url(), user(), password());
  }

  @Override
  boolean storeCorruptToken(String stream, String raw) throws Exception {
    try (Connection connection = connect()) {
      try (Statement ddl = connection.createStatement()) {
        for (String sql : SqlCheckpointStore.ddl(settings())) ddl.execute(sql);
      }
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO tidemark_checkpoints"
          + " (stream, epoch, holder, routine_saves, notable_saves, checkpoint) VALUES (?, 3, 0, 1, 0, ?)")) {
        insert.setString(1, stream);
        insert.setString(2, raw);
        insert.executeUpdate();
      }
    }
    return true;
  }

  /**
   * Two consumers on two nodes take the stream at the same moment (the first time, both find no row
   * and race on its insert), then save at once, the older one always further ahead. Round after
   * round: the epochs differ, every save under the older one is refused and none under the newer
   * one is, and the stored checkpoint is the newer consumer's last, written under its epoch.
   */
  @Test
  void twoConsumersRacingOnTwoNodesOnlyTheNewestEpochLands() throws Exception {
    String raced = stream("raced");
    long position = 1_000;
    long lastNewEpoch = 0;
    for (int round = 0; round < 10; round++) {
      StreamCheckpoints a = await(newStore().open(raced));
      StreamCheckpoints b = await(newStore().open(raced));
      CompletableFuture<Acquired> takeA = a.acquire().toCompletableFuture();
      CompletableFuture<Acquired> takeB = b.acquire().toCompletableFuture();
      long epochA = await(takeA).epoch();
      long epochB = await(takeB).epoch();
      assertThat(epochA).as("round %d", round).isNotEqualTo(epochB);
      StreamCheckpoints newer = epochA > epochB ? a : b;
      StreamCheckpoints older = newer == a ? b : a;
      long newEpoch = Math.max(epochA, epochB);
      long oldEpoch = Math.min(epochA, epochB);
      long start = position;
      CompletableFuture<List<Throwable>> olderSaves = CompletableFuture.supplyAsync(() -> saves(older, raced, start + 500, oldEpoch), executor);
      CompletableFuture<List<Throwable>> newerSaves = CompletableFuture.supplyAsync(() -> saves(newer, raced, start, newEpoch), executor);
      for (Throwable refused : await(olderSaves)) {
        assertThat(refused).as("round %d: a save under the older epoch", round)
            .isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
      }
      assertThat(await(newerSaves)).as("round %d: the newer epoch's saves", round).containsOnlyNulls();
      Checkpoint stored = await(newer.load()).orElseThrow();
      assertThat(stored).isEqualTo(checkpointAt(raced, start + 19));
      assertThat(stored.epoch()).isEqualTo(newEpoch);
      await(a.close());
      await(b.close());
      lastNewEpoch = newEpoch;
      position += 1_000;
    }
    // The history holds the last round's newer saves only: no refused save left an entry.
    long last = position - 1_000;
    List<Checkpoint> history = await(await(newStore().open(raced)).history());
    assertThat(history).containsExactlyElementsOf(
        java.util.stream.LongStream.range(last + 10, last + 20).mapToObj(seqNr -> checkpointAt(raced, seqNr)).toList());
    long expectedEpoch = lastNewEpoch;
    assertThat(history).allSatisfy(entry -> assertThat(entry.epoch()).isEqualTo(expectedEpoch));
  }

  /** Twenty saves one after the other, each retried while unavailable; the final error of each (null: it landed). */
  private List<Throwable> saves(StreamCheckpoints record, String stream, long from, long epoch) {
    List<Throwable> outcomes = new ArrayList<>();
    try {
      for (long seqNr = from; seqNr < from + 20; seqNr++) outcomes.add(saveAsTheWindowDoes(record, checkpointAt(stream, seqNr), epoch));
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    return outcomes;
  }

  @Test
  void theHistoryIsARingOfRowsThatNeverGrowsPastItsBound() throws Exception {
    String ringed = stream("ringed");
    StreamCheckpoints record = await(newStore().open(ringed));
    long epoch = await(record.acquire()).epoch();
    await(record.save(checkpointAt(ringed, 1).as(CheckpointKind.GAP, "skipped"), epoch));
    for (long seqNr = 2; seqNr <= 3 * historySize() + 1; seqNr++) await(record.save(checkpointAt(ringed, seqNr), epoch));
    try (Connection connection = connect();
        PreparedStatement count = connection.prepareStatement(
            "SELECT notable, COUNT(*) FROM tidemark_checkpoint_history WHERE stream = ? GROUP BY notable ORDER BY notable")) {
      count.setString(1, ringed);
      try (ResultSet rows = count.executeQuery()) {
        assertThat(rows.next()).isTrue();
        assertThat(rows.getBoolean(1)).isFalse();
        assertThat(rows.getLong(2)).isEqualTo(historySize());
        assertThat(rows.next()).isTrue();
        assertThat(rows.getBoolean(1)).isTrue();
        assertThat(rows.getLong(2)).isEqualTo(1);
      }
    }
    try (Connection connection = connect();
        PreparedStatement row = connection.prepareStatement(
            "SELECT epoch, holder, routine_saves, notable_saves, at_seconds, at_increment FROM tidemark_checkpoints WHERE stream = ?")) {
      row.setString(1, ringed);
      try (ResultSet result = row.executeQuery()) {
        assertThat(result.next()).isTrue();
        assertThat(result.getLong(1)).isEqualTo(epoch);
        assertThat(result.getLong(2)).isEqualTo(epoch);
        assertThat(result.getLong(3)).isEqualTo(3L * historySize());
        assertThat(result.getLong(4)).isEqualTo(1);
        Checkpoint last = checkpointAt(ringed, 3L * historySize() + 1);
        assertThat(result.getLong(5)).isEqualTo(last.clusterTime().getTime());
        assertThat(result.getLong(6)).isEqualTo(last.clusterTime().getInc());
      }
    }
    await(record.close());
  }

  @Test
  void anUnreachableDatabaseIsReportedAsUnavailableWithoutItsPassword() throws Exception {
    String nowhere = "jdbc:postgresql://127.0.0.1:" + io.tidemark.Clusters.freePort() + "/test?user=tidemark&password=secret";
    try (SqlCheckpointStore lost = SqlCheckpointStore.create(
        settings().withDatabase(nowhere, "", "").withTimeout(Duration.ofSeconds(3)), executor)) {
      StreamCheckpoints record = await(lost.open(stream("lost")));
      Throwable failure = io.tidemark.Await.failureOf(record.acquire());
      assertThat(failure).isInstanceOf(CheckpointStoreUnavailableException.class)
          .hasMessageContaining("could not take an epoch").hasMessageContaining("password=***").hasMessageNotContaining("secret");
      assertThat(lost.settings().toString()).doesNotContain("secret");
    }
  }
}
