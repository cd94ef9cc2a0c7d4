package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.model.Filters;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.testkit.FaultyMongo;
import io.tidemark.window.WindowSettings;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * What the effectively-once JDBC sink must do on every database it supports; run on H2 and on
 * PostgreSQL. The target table {@code sink_events} has no unique key, so a write made twice would
 * show as two rows.
 */
abstract class JdbcSinkContract {
  private static final String EVENTS_DDL =
      "CREATE TABLE IF NOT EXISTS sink_events (resume_token VARCHAR(200) NOT NULL, doc_id INT NOT NULL, op VARCHAR(20) NOT NULL)";
  private static final String VIEW_DDL = "CREATE TABLE IF NOT EXISTS sink_view (doc_id INT NOT NULL PRIMARY KEY, version INT NOT NULL)";

  /** A pool on a fresh, empty database (or schema). */
  abstract HikariDataSource newTarget();

  static HikariDataSource pool(String url, String user, String password) {
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(url);
    config.setUsername(user);
    config.setPassword(password);
    config.setMaximumPoolSize(6);
    return new HikariDataSource(config);
  }

  private ExecutorService blocking;

  @org.junit.jupiter.api.BeforeEach
  void startThreads() {
    blocking = Executors.newFixedThreadPool(6);
  }

  @org.junit.jupiter.api.AfterEach
  void stopThreads() {
    blocking.shutdownNow();
  }

  private JdbcSink sink(HikariDataSource target, String stream) {
    return JdbcSink.create(target, stream, blocking, JdbcSinkSettings.create(ConfigFactory.load()));
  }

  private static void execute(HikariDataSource target, String sql) throws SQLException {
    try (Connection connection = target.getConnection(); Statement statement = connection.createStatement()) {
      statement.execute(sql);
    }
  }

  private static long count(HikariDataSource target, String sql) throws SQLException {
    try (Connection connection = target.getConnection(); Statement statement = connection.createStatement();
        ResultSet row = statement.executeQuery(sql)) {
      row.next();
      return row.getLong(1);
    }
  }

  private static long rows(HikariDataSource target, String sql) {
    try {
      return count(target, sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** The user's write for one made-up event: a row in sink_events. */
  private static final JdbcSink.Write RECORD = (connection, event) -> {
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO sink_events (resume_token, doc_id, op) VALUES (?, ?, ?)")) {
      insert.setString(1, event.resumeToken().getString("_data").getValue());
      insert.setInt(2, 0);
      insert.setString(3, event.operationType());
      insert.executeUpdate();
    }
  };


  @Test
  void aReplayedEventIsSkippedAndANewOneWritten() throws Exception {
    try (HikariDataSource target = newTarget()) {
      execute(target, EVENTS_DDL);
      JdbcSink sink = sink(target, "replayed");
      EventHandler handler = sink.handler(RECORD);
      for (long index = 1; index <= 3; index++) handler.handle("replayed", Envelopes.event(index, index, "k")).toCompletableFuture().get();
      // A restart replays events 2 and 3 (as #1 and #2 of the new run), then goes on with 4.
      for (long index = 2; index <= 4; index++) handler.handle("replayed", Envelopes.event(index - 1, index, "k")).toCompletableFuture().get();

      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).isEqualTo(4);
      assertThat(count(target, "SELECT COUNT(DISTINCT resume_token) FROM sink_events")).isEqualTo(4);
      assertThat(sink.applied()).isEqualTo(4);
      assertThat(sink.skipped()).isEqualTo(2);
    }
  }

  @Test
  void pruningPositionsBeforeTheCheckpointChangesNoDecisionAfterIt() throws Exception {
    try (HikariDataSource target = newTarget()) {
      execute(target, EVENTS_DDL);
      JdbcSink sink = sink(target, "pruned");
      EventHandler handler = sink.handler(RECORD);
      // Event indexes 1..3000: clusterTime (1,700,000,000 + index / 1000, index % 1000).
      handler.handle("pruned", Envelopes.event(1, 1, "old")).toCompletableFuture().get();
      handler.handle("pruned", Envelopes.event(2, 2_500, "recent")).toCompletableFuture().get();
      ChangeEnvelope checkpointed = Envelopes.event(3, 2_000, "any");

      assertThat(sink.pruneBefore(checkpointed.clusterTime())).isEqualTo(1);
      assertThat(count(target, "SELECT COUNT(*) FROM tidemark_sink_positions WHERE stream = 'pruned'")).isEqualTo(1);
      // A replay starts after the checkpoint: the recent key's event is still known, the old key's next event is new.
      handler.handle("pruned", Envelopes.event(1, 2_500, "recent")).toCompletableFuture().get();
      handler.handle("pruned", Envelopes.event(2, 2_600, "old")).toCompletableFuture().get();
      assertThat(sink.skipped()).isEqualTo(1);
      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).isEqualTo(3);
    }
  }

  @Test
  void aWriteThatFailsCommitsNothingAndIsWrittenWhenItComesAgain() throws Exception {
    try (HikariDataSource target = newTarget()) {
      execute(target, EVENTS_DDL);
      JdbcSink sink = sink(target, "failing");
      EventHandler failing = sink.handler((connection, event) -> {
        RECORD.write(connection, event);
        throw new SQLException("the sink's disk is full (made up)");
      });
      assertThat(Await.failureOf(failing.handle("failing", Envelopes.event(1, 1, "k")))).isInstanceOf(SinkUnavailableException.class)
          .hasMessageContaining("could not write event #1").hasMessageContaining("disk is full");
      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).isZero();

      sink.handler(RECORD).handle("failing", Envelopes.event(1, 1, "k")).toCompletableFuture().get();
      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).isEqualTo(1);
    }
  }

  @Test
  void anOlderConsumerIsFencedOnceANewerOneHasTakenTheStream() throws Exception {
    try (HikariDataSource target = newTarget()) {
      execute(target, EVENTS_DDL);
      EventHandler old = sink(target, "fenced").handler(RECORD);
      old.handle("fenced", Envelopes.event(1, 1, "a")).toCompletableFuture().get();
      EventHandler successor = sink(target, "fenced").handler(RECORD);
      successor.handle("fenced", Envelopes.event(1, 1, "a")).toCompletableFuture().get(); // replayed: skipped
      successor.handle("fenced", Envelopes.event(2, 2, "b")).toCompletableFuture().get();

      assertThat(Await.failureOf(old.handle("fenced", Envelopes.event(2, 3, "c")))).isInstanceOf(FencedException.class)
          .hasMessageContaining("another consumer has taken the stream");
      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).isEqualTo(2);
    }
  }

  /**
   * The guarantee end to end: a pipeline with parallelism 4 over 2,800 change events (inserts,
   * replacements, deletes of 300 orders) writes through the sink; it is killed with its actor system at
   * random points five times (no drain, no flush: the checkpoint lags the sink), and its writes
   * fail at random (the transaction rolls back, the pipeline restarts from the safe token). In the
   * end sink_events holds each event exactly once and sink_view equals the collection.
   */
  @Test
  void randomCrashesAndFailuresLeaveEachEventWrittenExactlyOnce() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    String journal = "sink_crash_" + Long.toHexString(seed);
    Config config = ConfigFactory.parseString("tidemark.pipeline.on-failure.restart-min-backoff = 50ms\n"
            + "tidemark.pipeline.on-failure.restart-max-backoff = 200ms")
        .withFallback(TestConfigs.h2Journal(journal)).withFallback(ConfigFactory.load());
    try (HikariDataSource target = newTarget();
        FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false))) {
      execute(target, EVENTS_DDL);
      execute(target, VIEW_DDL);
      int expected = EVENTS;
      CompletableFuture<Void> writer = null;

      List<JdbcSink> sinks = new ArrayList<>();
      for (int crash = 0; crash < 5; crash++) {
        long target0 = count(target, "SELECT COUNT(*) FROM sink_events");
        long stopAt = target0 + 100 + random.nextInt(500);
        ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "sink-crash-" + crash, config);
        JdbcSink sink = sink(target, "orders-sink");
        sinks.add(sink);
        PipelineControl control = run(system, mongo, sink, random);
        if (writer == null) {
          control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
          writer = CompletableFuture.runAsync(() -> writeOrders(mongo));
        }
        Await.until(Duration.ofSeconds(60), () -> rows(target, "SELECT COUNT(*) FROM sink_events") >= Math.min(stopAt, expected),
            () -> "the sink wrote " + stopAt + " events (seed " + seed + ")");
        system.terminate(); // abrupt: no drain, no checkpoint flush
        system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      ActorSystem<Void> last = ActorSystem.create(Behaviors.empty(), "sink-crash-last", config);
      try {
        JdbcSink sink = sink(target, "orders-sink");
        sinks.add(sink);
        PipelineControl control = run(last, mongo, sink, random);
        writer.get(60, TimeUnit.SECONDS);
        Await.until(Duration.ofSeconds(120), () -> rows(target, "SELECT COUNT(DISTINCT resume_token) FROM sink_events") >= expected,
            () -> "every event written (seed " + seed + ")");
        control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } finally {
        last.terminate();
        last.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }

      long skipped = sinks.stream().mapToLong(JdbcSink::skipped).sum();
      assertThat(count(target, "SELECT COUNT(DISTINCT resume_token) FROM sink_events")).as("seed %d", seed).isEqualTo(expected);
      assertThat(count(target, "SELECT COUNT(*) FROM sink_events")).as("every event exactly once (seed %d)", seed).isEqualTo(expected);
      assertThat(skipped).as("replayed events met the sink (seed %d)", seed).isPositive();
      assertThat(view(target)).isEqualTo(source(mongo));
      System.out.printf("JDBC sink: %d events exactly once after 5 crashes; %d replayed events skipped (seed %d)%n",
          expected, skipped, seed);
    }
  }

  private static PipelineControl run(ActorSystem<?> system, FaultyMongo mongo, JdbcSink sink, Random random) {
    double failureRate = 0.01;
    long failSeed = random.nextLong();
    Random failures = new Random(failSeed);
    return Pipeline.named("orders-sink")
        .mongoUri(mongo.uri())
        .collection("shop", "orders")
        .checkpoints(JdbcCheckpointStore.create(system))
        .windowSettings(WindowSettings.of(100, 200, Duration.ofSeconds(1)))
        .parallelism(4)
        .handle(sink.handler((connection, event) -> {
          int id = event.documentKey().getInt32("_id").getValue();
          try (PreparedStatement insert = connection.prepareStatement("INSERT INTO sink_events (resume_token, doc_id, op) VALUES (?, ?, ?)")) {
            insert.setString(1, event.resumeToken().getString("_data").getValue());
            insert.setInt(2, id);
            insert.setString(3, event.operationType());
            insert.executeUpdate();
          }
          if ("delete".equals(event.operationType())) {
            try (PreparedStatement delete = connection.prepareStatement("DELETE FROM sink_view WHERE doc_id = ?")) {
              delete.setInt(1, id);
              delete.executeUpdate();
            }
          } else {
            int version = event.fullDocument().getInteger("version");
            try (PreparedStatement update = connection.prepareStatement("UPDATE sink_view SET version = ? WHERE doc_id = ?")) {
              update.setInt(1, version);
              update.setInt(2, id);
              if (update.executeUpdate() == 0) {
                try (PreparedStatement insert = connection.prepareStatement("INSERT INTO sink_view (doc_id, version) VALUES (?, ?)")) {
                  insert.setInt(1, id);
                  insert.setInt(2, version);
                  insert.executeUpdate();
                }
              }
            }
          }
          synchronized (failures) {
            if (failures.nextDouble() < failureRate) throw new SQLException("made-up failure after the writes, before the commit");
          }
        }))
        .run(system);
  }

  /** 2,800 events on shop.orders, in ten rounds of 30 inserts, 240 replacements and 10 deletes. Returns the count. */
  private static final int EVENTS = 2_800;

  private static int writeOrders(FaultyMongo mongo) {
    var orders = mongo.database("shop").getCollection("orders");
    int events = 0;
    for (int round = 0; round < 10; round++) {
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < 30; i++) batch.add(new Document("_id", round * 30 + i).append("version", 0));
      orders.insertMany(batch);
      events += 30;
      for (int pass = 1; pass <= 8; pass++) {
        for (int i = 0; i < 30; i++) orders.replaceOne(Filters.eq("_id", round * 30 + i), new Document("_id", round * 30 + i).append("version", pass));
        events += 30;
      }
      for (int i = 0; i < 30; i += 3) orders.deleteOne(Filters.eq("_id", round * 30 + i));
      events += 10;
    }
    return events;
  }

  private static Map<Integer, Integer> view(HikariDataSource target) throws SQLException {
    Map<Integer, Integer> view = new HashMap<>();
    try (Connection connection = target.getConnection(); Statement statement = connection.createStatement();
        ResultSet rows = statement.executeQuery("SELECT doc_id, version FROM sink_view")) {
      while (rows.next()) view.put(rows.getInt(1), rows.getInt(2));
    }
    return view;
  }

  private static Map<Integer, Integer> source(FaultyMongo mongo) {
    Map<Integer, Integer> source = new HashMap<>();
    for (Document order : mongo.database("shop").getCollection("orders").find()) {
      source.put(order.getInteger("_id"), order.getInteger("version"));
    }
    return source;
  }
}
