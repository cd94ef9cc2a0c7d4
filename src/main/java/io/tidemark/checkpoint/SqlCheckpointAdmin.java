package io.tidemark.checkpoint;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * {@link CheckpointAdmin} over the tables of {@link SqlCheckpointStore}. A stream is held while its
 * row has a {@code holder} (set when a consumer takes an epoch, cleared when it closes). A rewind or
 * reset is one transaction: an {@code UPDATE} that takes a new epoch and lets go of the holder
 * (only where there is none, unless forced), and the history entry; the consumer that held the
 * stream, if forced, is fenced out by the store's conditional saves.
 */
public final class SqlCheckpointAdmin implements CheckpointAdmin {
  private final SqlCheckpointStore store;
  private final SqlCheckpointSettings settings;

  /** An admin over the store's database; it uses (and does not close) the store's pool. */
  public SqlCheckpointAdmin(SqlCheckpointStore store) {
    this.store = store;
    this.settings = store.settings();
  }

  /**
   * Checks, on a connection of its own (an unreachable database fails at once, not after the pool's
   * wait), that the table is there; when it is not, creates the tables if the settings say so
   * ({@code create-tables}: an import into a new database), or fails saying no stream ran there.
   */
  @Override
  public void ready() {
    try (Connection connection = DriverManager.getConnection(settings.url, settings.user.isEmpty() ? null : settings.user,
        settings.password.isEmpty() ? null : settings.password)) {
      try (PreparedStatement probe = connection.prepareStatement("SELECT COUNT(*) FROM " + settings.checkpointsTable)) {
        probe.executeQuery().close();
      } catch (SQLException e) {
        if (!settings.createTables) {
          throw new TidemarkException("the checkpoint database " + settings.redactedUrl() + " has no table " + settings.checkpointsTable
              + " (or it cannot be read: " + Errors.oneLine(e.getMessage()) + "): no Tidemark stream has run against it with"
              + " checkpoint-store = sql");
        }
        try (java.sql.Statement ddl = connection.createStatement()) {
          for (String sql : SqlCheckpointStore.ddl(settings)) ddl.execute(sql);
        }
      }
    } catch (SQLException e) {
      String hint = String.valueOf(e.getMessage()).contains("already in use") || String.valueOf(e.getMessage()).contains("locked")
          ? " (a running Tidemark holds this H2 file: stop it, or use a database server)" : "";
      throw new TidemarkException("cannot reach the checkpoint database " + settings.redactedUrl() + ": " + Errors.oneLine(e.getMessage()) + hint);
    }
  }

  @Override
  public List<String> streams() {
    return await(store.call("list the streams", connection -> {
      List<String> streams = new ArrayList<>();
      try (PreparedStatement select = connection.prepareStatement("SELECT stream FROM " + settings.checkpointsTable + " ORDER BY stream");
          ResultSet rows = select.executeQuery()) {
        while (rows.next()) streams.add(rows.getString(1));
      }
      return streams;
    }), "list the streams in " + store.location());
  }

  @Override
  public StreamState state(String stream) {
    StreamNames.validate(stream);
    StreamState state = await(store.call("read the checkpoint", connection -> {
      try (PreparedStatement select = connection.prepareStatement("SELECT epoch, holder, held_since, routine_saves, notable_saves, checkpoint"
          + " FROM " + settings.checkpointsTable + " WHERE stream = ?")) {
        select.setString(1, stream);
        try (ResultSet row = select.executeQuery()) {
          if (!row.next()) return null;
          Optional<Checkpoint> checkpoint;
          String corruption = null;
          try {
            checkpoint = CheckpointJson.decodeCurrent(stream, row.getString(6), store.location());
          } catch (CorruptCheckpointException e) {
            checkpoint = Optional.empty();
            corruption = e.getMessage();
          }
          long heldSince = row.getLong(3);
          boolean held = !row.wasNull();
          return new StreamState(stream, checkpoint, corruption, row.getLong(1), row.getLong(2),
              held ? Instant.ofEpochMilli(heldSince) : null, row.getLong(4) + row.getLong(5), store.readHistory(connection, stream));
        }
      }
    }), "read the checkpoint of '" + stream + "' in " + store.location());
    if (state == null) {
      List<String> known = streams();
      throw new TidemarkException("unknown stream '" + stream + "': " + store.location() + " has "
          + (known.isEmpty() ? "no streams" : "these: " + String.join(", ", known)));
    }
    return state;
  }

  @Override
  public StreamState rewind(String stream, BsonDocument token, BsonTimestamp time, String note, boolean force) {
    return move(stream, Checkpoint.rewind(stream, token, time, note), force);
  }

  @Override
  public StreamState reset(String stream, String note, boolean force) {
    return move(stream, Checkpoint.reset(stream, note), force);
  }

  private StreamState move(String stream, Checkpoint checkpoint, boolean force) {
    StreamNames.validate(stream);
    String json = CheckpointJson.encode(checkpoint);
    boolean reset = checkpoint.kind() == CheckpointKind.RESET;
    boolean moved = await(store.call("write the checkpoint", connection -> {
      connection.setAutoCommit(false);
      try (PreparedStatement update = connection.prepareStatement(store.returning("UPDATE " + settings.checkpointsTable
          + " SET epoch = epoch + 1, holder = 0, held_since = NULL, checkpoint = ?, at_seconds = ?, at_increment = ?,"
          + " notable_saves = notable_saves + 1 WHERE stream = ?" + (force ? "" : " AND holder = 0"),
          "routine_saves, notable_saves"))) {
        update.setString(1, reset ? null : json);
        SqlCheckpointStore.setPosition(update, 2, checkpoint.clusterTime());
        update.setString(4, stream);
        long[] counts;
        try (ResultSet result = update.executeQuery()) {
          counts = result.next() ? new long[] {result.getLong(1), result.getLong(2)} : null;
        }
        if (counts == null && !reset && insertFirst(connection, stream, checkpoint, json)) {
          counts = new long[] {0, 1};
        }
        if (counts == null) {
          connection.rollback();
          return false;
        }
        store.writeHistory(connection, stream, false, counts, json);
        connection.commit();
        return true;
      } catch (SQLException | RuntimeException e) {
        connection.rollback();
        throw e;
      } finally {
        connection.setAutoCommit(true);
      }
    }), "write the checkpoint of '" + stream + "' in " + store.location());
    StreamState current = state(stream); // an unknown stream: says which streams there are
    if (!moved) {
      throw new TidemarkException("refused: the consumer with epoch " + current.holder() + " holds the stream"
          + (current.heldSince() != null ? " (since " + current.heldSince() + ")" : "")
          + ": stop it first; a consumer that crashed never lets go: then pass --force, which fences it out");
    }
    return current;
  }

  /**
   * A rewind of a stream the store has no row for (an import into a new database): the row, at the
   * rewound position, not held, under epoch 1. False when another writer created the row meanwhile.
   */
  private boolean insertFirst(Connection connection, String stream, Checkpoint checkpoint, String json) throws SQLException {
    try (PreparedStatement exists = connection.prepareStatement("SELECT 1 FROM " + settings.checkpointsTable + " WHERE stream = ?")) {
      exists.setString(1, stream);
      try (ResultSet row = exists.executeQuery()) {
        if (row.next()) return false;
      }
    }
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + settings.checkpointsTable
        + " (stream, epoch, holder, at_seconds, at_increment, routine_saves, notable_saves, checkpoint) VALUES (?, 1, 0, ?, ?, 0, 1, ?)")) {
      insert.setString(1, stream);
      SqlCheckpointStore.setPosition(insert, 2, checkpoint.clusterTime());
      insert.setString(4, json);
      insert.executeUpdate();
      return true;
    } catch (SQLException e) {
      if ("23505".equals(e.getSQLState())) return false;
      throw e;
    }
  }

  private <T> T await(CompletionStage<T> stage, String what) {
    long timeout = settings.timeout.toMillis();
    try {
      return stage.toCompletableFuture().get(timeout + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TidemarkException("interrupted while trying to " + what);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = Errors.unwrap(e);
      if (cause instanceof TidemarkException tidemark) throw tidemark;
      if (cause instanceof CheckpointStoreUnavailableException unavailable) throw new TidemarkException(unavailable.getMessage());
      throw new TidemarkException("could not " + what + ": " + Errors.oneLine(cause.getMessage() == null ? cause.toString() : cause.getMessage()));
    }
  }
}
