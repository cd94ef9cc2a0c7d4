package io.tidemark.sink;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicLong;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Effectively-once writes into a JDBC database: each event's writes and the sink's record of that
 * event commit in one transaction, so a replayed event (after a crash, a restart, a failover) finds
 * its record and is skipped, and an event whose transaction did not commit is written when it comes
 * again. The target holds every event's writes exactly once.
 *
 * <p>The record is a position per stream and documentKey ({@code tidemark_sink_positions}): the
 * newest event of that key whose writes committed. Tidemark runs one key's events in order, one at a
 * time, so an event at or before its key's position is done; keys run in parallel. The position
 * row is locked ({@code SELECT ... FOR UPDATE}) for the length of the transaction, so two consumers
 * never both write one event.
 *
 * <p>Fencing: the first event of a sink takes the stream's next sink epoch
 * ({@code tidemark_sink_epochs}), and every transaction checks it; once a newer consumer has taken
 * the stream, this one's transactions roll back with {@link FencedException} and its pipeline stops.
 * Make one sink per pipeline run (inside the factory a cluster singleton calls).
 *
 * <p>Blocking JDBC runs on Akka's blocking-IO dispatcher, or on the executor given.
 */
public final class JdbcSink {
  private static final Logger log = LoggerFactory.getLogger(JdbcSink.class);
  private static final int CONFLICT_RETRIES = 3;
  private static final int MYSQL_DUPLICATE_ENTRY = 1062;

  /** The user's writes for one event, on the sink's connection, inside its transaction. Do not commit. */
  @FunctionalInterface
  public interface Write {
    void write(Connection connection, ChangeEnvelope event) throws SQLException;
  }

  private final DataSource dataSource;
  private final String stream;
  private final Executor executor;
  private final JdbcSinkSettings settings;
  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong conflicts = new AtomicLong();
  private volatile CompletableFuture<Long> epoch;
  /** The target's kind, known once the epoch is taken. */
  private volatile JdbcDialect dialect = JdbcDialect.OTHER;

  private JdbcSink(DataSource dataSource, String stream, Executor executor, JdbcSinkSettings settings) {
    this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
    this.stream = Objects.requireNonNull(stream, "stream");
    this.executor = Objects.requireNonNull(executor, "executor");
    this.settings = settings;
  }

  /** A sink for one stream, on the blocking-IO dispatcher of the system, with settings from {@code tidemark.sink.jdbc}. */
  public static JdbcSink create(ActorSystem<?> system, DataSource dataSource, String stream) {
    return new JdbcSink(dataSource, stream, system.dispatchers().lookup(DispatcherSelector.blocking()), JdbcSinkSettings.create(system));
  }

  public static JdbcSink create(DataSource dataSource, String stream, Executor executor, JdbcSinkSettings settings) {
    return new JdbcSink(dataSource, stream, executor, settings);
  }

  /** The per-event handler for {@code PipelineBuilder.handle}: runs {@code write} once per event, effectively. */
  public EventHandler handler(Write write) {
    Objects.requireNonNull(write, "write");
    return (name, event) -> {
      if (!name.equals(stream)) {
        return CompletableFuture.failedFuture(new TidemarkException(
            "the JDBC sink of stream '" + stream + "' was given an event of stream '" + name + "': make one sink per stream"));
      }
      return epoch().thenComposeAsync(mine -> CompletableFuture.supplyAsync(() -> apply(write, event, mine), executor), executor);
    };
  }

  /** Events whose writes this sink committed. */
  public long applied() {
    return applied.get();
  }

  /** Events this sink found already written (replayed ones) and skipped. */
  public long skipped() {
    return skipped.get();
  }

  /** Transactions rolled back and tried again because another writer raced for a new key's position. */
  public long conflicts() {
    return conflicts.get();
  }

  /**
   * Deletes the stream's key positions older than {@code checkpointTime}, which should be the
   * cluster time of the stream's stored checkpoint: a replay starts after that checkpoint, so
   * positions before it are never consulted again. The positions table keeps one row per key the
   * stream has written, deleted documents included; call this now and then (say, hourly) to keep it
   * to the keys written recently. Blocking; returns the rows deleted.
   */
  public long pruneBefore(org.bson.BsonTimestamp checkpointTime) {
    Objects.requireNonNull(checkpointTime, "checkpointTime");
    try (Connection connection = dataSource.getConnection();
        PreparedStatement delete = connection.prepareStatement(
            "DELETE FROM " + settings.positionsTable + " WHERE stream = ? AND cluster_time < ?")) {
      delete.setString(1, stream);
      delete.setLong(2, checkpointTime.getValue());
      long deleted = delete.executeUpdate();
      if (!connection.getAutoCommit()) connection.commit();
      StreamMdc.info(log, stream, "stream '{}': JDBC sink pruned {} key positions before {}", stream, deleted, checkpointTime);
      return deleted;
    } catch (SQLException e) {
      throw new SinkUnavailableException("stream '" + stream + "': the JDBC sink could not prune " + settings.positionsTable
          + ": " + e.getMessage(), e);
    }
  }

  /** The epoch this sink writes with, taken once (creating the tables first when configured). */
  private CompletableFuture<Long> epoch() {
    CompletableFuture<Long> taken = epoch;
    if (taken != null) return taken;
    synchronized (this) {
      if (epoch == null) epoch = CompletableFuture.supplyAsync(this::takeEpoch, executor);
      return epoch;
    }
  }

  private long takeEpoch() {
    try (Connection connection = dataSource.getConnection()) {
      dialect = JdbcDialect.of(connection);
      if (settings.createTables) createTables(connection);
      connection.setAutoCommit(false);
      try {
        try (PreparedStatement update = connection.prepareStatement(
            "UPDATE " + settings.epochsTable + " SET epoch = epoch + 1 WHERE stream = ?")) {
          update.setString(1, stream);
          if (update.executeUpdate() == 0) {
            try (PreparedStatement insert = connection.prepareStatement(
                "INSERT INTO " + settings.epochsTable + " (stream, epoch) VALUES (?, 1)")) {
              insert.setString(1, stream);
              insert.executeUpdate();
            }
          }
        }
        long taken = currentEpoch(connection);
        connection.commit();
        StreamMdc.info(log, stream, "stream '{}': JDBC sink took epoch {}", stream, taken);
        return taken;
      } catch (SQLException e) {
        connection.rollback();
        throw e;
      }
    } catch (SQLException e) {
      synchronized (this) {
        epoch = null; // the next event tries again
      }
      throw new SinkUnavailableException("stream '" + stream + "': the JDBC sink could not take its epoch in "
          + settings.epochsTable + ": " + e.getMessage(), e);
    }
  }

  /**
   * The two tables, with the key columns as long as the database allows in a primary key
   * ({@link JdbcDialect}): a documentKey up to 2,048 characters as JSON, 512 on MariaDB and MySQL.
   */
  private void createTables(Connection connection) throws SQLException {
    try (Statement ddl = connection.createStatement()) {
      ddl.execute("CREATE TABLE IF NOT EXISTS " + settings.epochsTable
          + " (stream VARCHAR(255) NOT NULL PRIMARY KEY, epoch BIGINT NOT NULL)");
      ddl.execute("CREATE TABLE IF NOT EXISTS " + settings.positionsTable
          + " (stream VARCHAR(255) NOT NULL, document_key VARCHAR(" + dialect.positionKeyLength + ") NOT NULL,"
          + " cluster_time BIGINT NOT NULL, resume_token VARCHAR(1024) NOT NULL, epoch BIGINT NOT NULL,"
          + " PRIMARY KEY (stream, document_key))");
    }
  }

  private Done apply(Write write, ChangeEnvelope event, long mine) {
    for (int attempt = 1; ; attempt++) {
      try {
        transaction(write, event, mine);
        return Done.getInstance();
      } catch (SQLException e) {
        if (isConflict(e) && attempt < CONFLICT_RETRIES) {
          conflicts.incrementAndGet();
          continue;
        }
        String tooLong = "22001".equals(e.getSQLState())
            ? " (a value longer than its column: the positions table keeps documentKeys up to 2,048 characters as JSON,"
                + " 512 on MariaDB and MySQL; see docs/sinks.md)"
            : "";
        throw new SinkUnavailableException("stream '" + stream + "': the JDBC sink could not write event #" + event.seqNr()
            + " (" + event.operationType() + " " + event.documentKey() + "): " + e.getMessage() + tooLong, e);
      }
    }
  }

  private void transaction(Write write, ChangeEnvelope event, long mine) throws SQLException {
    EventPosition position = EventPosition.of(event);
    String key = EventPosition.keyOf(event);
    try (Connection connection = dataSource.getConnection()) {
      if (dialect == JdbcDialect.MYSQL) {
        // InnoDB's REPEATABLE READ locks the gap a missing key's SELECT ... FOR UPDATE finds, so two new
        // keys in one gap deadlock; the row locks are what the sink needs, and READ COMMITTED keeps only those.
        connection.setTransactionIsolation(Connection.TRANSACTION_READ_COMMITTED);
      }
      connection.setAutoCommit(false);
      try {
        long current = currentEpoch(connection);
        if (current != mine) {
          connection.rollback();
          throw new FencedException("stream '" + stream + "': the JDBC sink refused a write: another consumer has taken the stream"
              + " (sink epoch " + current + " is newer than this consumer's " + mine + ")");
        }
        EventPosition done = lockPosition(connection, key);
        if (done != null && position.isAtOrBefore(done)) {
          connection.rollback();
          skipped.incrementAndGet();
          return;
        }
        write.write(connection, event);
        recordPosition(connection, key, position, mine, done != null);
        connection.commit();
        applied.incrementAndGet();
      } catch (SQLException | RuntimeException e) {
        rollbackQuietly(connection);
        throw e;
      }
    }
  }

  private long currentEpoch(Connection connection) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement("SELECT epoch FROM " + settings.epochsTable + " WHERE stream = ?")) {
      select.setString(1, stream);
      try (ResultSet row = select.executeQuery()) {
        return row.next() ? row.getLong(1) : 0L;
      }
    }
  }

  private EventPosition lockPosition(Connection connection, String key) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement("SELECT cluster_time, resume_token FROM " + settings.positionsTable
        + " WHERE stream = ? AND document_key = ? FOR UPDATE")) {
      select.setString(1, stream);
      select.setString(2, key);
      try (ResultSet row = select.executeQuery()) {
        return row.next() ? new EventPosition(row.getLong(1), row.getString(2)) : null;
      }
    }
  }

  private void recordPosition(Connection connection, String key, EventPosition position, long mine, boolean exists) throws SQLException {
    String sql = exists
        ? "UPDATE " + settings.positionsTable + " SET cluster_time = ?, resume_token = ?, epoch = ? WHERE stream = ? AND document_key = ?"
        : "INSERT INTO " + settings.positionsTable + " (cluster_time, resume_token, epoch, stream, document_key) VALUES (?, ?, ?, ?, ?)";
    try (PreparedStatement statement = connection.prepareStatement(sql)) {
      statement.setLong(1, position.clusterTime());
      statement.setString(2, position.token());
      statement.setLong(3, mine);
      statement.setString(4, stream);
      statement.setString(5, key);
      statement.executeUpdate();
    }
  }

  /**
   * A unique-key race on a new key's position (23505; MariaDB's and MySQL's duplicate entry, 23000 with
   * error 1062), or a serialization failure or deadlock (40001).
   */
  private static boolean isConflict(SQLException e) {
    String state = e.getSQLState();
    return "23505".equals(state) || "40001".equals(state) || ("23000".equals(state) && e.getErrorCode() == MYSQL_DUPLICATE_ENTRY);
  }

  private static void rollbackQuietly(Connection connection) {
    try {
      connection.rollback();
    } catch (SQLException ignored) {
      // the connection is closed next; the database rolls back what was not committed
    }
  }
}
