package io.tidemark.checkpoint;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.tidemark.Errors;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonTimestamp;

/**
 * Checkpoints in two plain tables of an H2 or PostgreSQL database, the cheapest durable save: no
 * journal, no entity, no Akka serialization, no snapshots. {@code tidemark_checkpoints} has one row
 * per stream (its newest epoch taken, its holder, its position and its checkpoint as extended
 * JSON); {@code tidemark_checkpoint_history} keeps the history in slots of a ring per stream, the
 * newest {@code history-size} routine entries and, apart from them, as many notable ones.
 *
 * <p>Fencing is a compare-and-set in the database. {@link StreamCheckpoints#acquire()} is one
 * {@code UPDATE ... SET epoch = epoch + 1} that returns the new epoch and the stored checkpoint
 * together (or the first {@code INSERT} of the stream's row). A save is one conditional
 * {@code UPDATE ... WHERE epoch <= mine AND position <= new} (a gap may move back), and in the same
 * transaction the write of its history slot; a save that matches no row changes nothing and is
 * refused with {@link FencedException}. The {@code UPDATE} locks the row until the commit, so two
 * consumers racing on two nodes are ordered by the database, and only the newest epoch's saves land.
 * A consumer's own saves go to the database one after the other, as an entity's would.
 *
 * <p>Blocking JDBC runs on the executor given (Akka's blocking-IO dispatcher by default), over a
 * small HikariCP pool; every call is bounded by {@code tidemark.checkpoint.sql.timeout}.
 */
public final class SqlCheckpointStore implements CheckpointStore, AutoCloseable {
  private static final String UNIQUE_VIOLATION = "23505";

  private final SqlCheckpointSettings settings;
  private final HikariDataSource pool;
  private final Executor executor;
  private final boolean postgres;
  private final OpenStreams openStreams = new OpenStreams();
  private final AtomicLong writes = new AtomicLong();
  private volatile boolean tablesReady;

  private SqlCheckpointStore(SqlCheckpointSettings settings, Executor executor) {
    this.settings = settings;
    this.executor = executor;
    this.postgres = settings.dialect().equals("postgres");
    HikariConfig config = new HikariConfig();
    config.setJdbcUrl(settings.url);
    if (!settings.user.isEmpty()) config.setUsername(settings.user);
    if (!settings.password.isEmpty()) config.setPassword(settings.password);
    config.setMaximumPoolSize(settings.poolSize);
    config.setMinimumIdle(1);
    // Shorter than the call's timeout, so that a connection that cannot be made is reported with its cause.
    config.setConnectionTimeout(Math.max(250, settings.timeout.toMillis() * 3 / 4));
    config.setInitializationFailTimeout(-1); // connect on first use, not when the node starts
    config.setPoolName("tidemark-sql-checkpoints");
    this.pool = new HikariDataSource(config);
  }

  /** A store as {@code tidemark.checkpoint.sql} says, its JDBC on Akka's blocking-IO dispatcher. */
  public static SqlCheckpointStore create(ActorSystem<?> system) {
    return create(SqlCheckpointSettings.create(system), system.dispatchers().lookup(DispatcherSelector.blocking()));
  }

  /** A store whose blocking JDBC runs on {@code executor}; it connects on first use. Close it to close its pool. */
  public static SqlCheckpointStore create(SqlCheckpointSettings settings, Executor executor) {
    return new SqlCheckpointStore(settings, executor);
  }

  public SqlCheckpointSettings settings() {
    return settings;
  }

  /** Saves that reached the database so far, over all streams (for benchmarks and tests). */
  public long writes() {
    return writes.get();
  }

  /** Closes the pool; no call may follow. */
  @Override
  public void close() {
    pool.close();
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    return openStreams.open(stream, Record::new);
  }

  private final class Record implements StreamCheckpoints {
    private final String stream;
    private volatile long heldEpoch;
    /** This record's writes, one after the other (the window has one save outstanding; a test may have many). */
    private CompletableFuture<?> tail = CompletableFuture.completedFuture(null);

    Record(String stream) {
      this.stream = stream;
    }

    @Override
    public String stream() {
      return stream;
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      return inOrder("take an epoch", connection -> {
        Taken taken = takeEpoch(connection, stream);
        heldEpoch = taken.epoch;
        try {
          return new Acquired(taken.epoch, CheckpointJson.decodeCurrent(stream, taken.checkpoint, location()));
        } catch (CorruptCheckpointException corrupt) {
          return new Acquired(taken.epoch, Optional.empty(), corrupt);
        }
      });
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      return call("read the checkpoint", connection -> CheckpointJson.decodeCurrent(stream, readCheckpoint(connection, stream), location()));
    }

    @Override
    public CompletionStage<List<Checkpoint>> history() {
      return call("read the history", connection -> readHistory(connection, stream));
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (!checkpoint.stream().equals(stream)) {
        throw new IllegalArgumentException(
            "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
      }
      Checkpoint saved = checkpoint.withEpoch(epoch);
      String json = CheckpointJson.encode(saved);
      return inOrder("save the checkpoint", connection -> {
        saveFenced(connection, stream, saved, json, epoch);
        writes.incrementAndGet();
        return Done.getInstance();
      });
    }

    @Override
    public CompletionStage<Done> close() {
      openStreams.closed(stream);
      long epoch = heldEpoch;
      if (epoch == 0) return CompletableFuture.completedFuture(Done.getInstance());
      return inOrder("release the stream", connection -> {
        try (PreparedStatement release = connection.prepareStatement("UPDATE " + settings.checkpointsTable
            + " SET holder = 0, held_since = NULL WHERE stream = ? AND holder = ?")) {
          release.setString(1, stream);
          release.setLong(2, epoch);
          release.executeUpdate();
        }
        return Done.getInstance();
      }).handle((done, error) -> Done.getInstance());
    }

    /** Runs {@code work} after this record's earlier writes, whatever their outcome. */
    private <T> CompletionStage<T> inOrder(String what, SqlWork<T> work) {
      synchronized (this) {
        CompletableFuture<T> next = tail.handle((previous, error) -> null).thenCompose(ignored -> call(what, work).toCompletableFuture());
        tail = next;
        return next;
      }
    }
  }

  // ---- the SQL, shared with SqlCheckpointAdmin ----

  /** What taking an epoch found: the epoch and the stored checkpoint's JSON (null: none). */
  record Taken(long epoch, String checkpoint) {}

  /** Takes the stream's next epoch, marking its holder, and reads the checkpoint in the same statement. */
  Taken takeEpoch(Connection connection, String stream) throws SQLException {
    long now = System.currentTimeMillis();
    for (int attempt = 0; ; attempt++) {
      try (PreparedStatement take = connection.prepareStatement(returning(
          "UPDATE " + settings.checkpointsTable + " SET epoch = epoch + 1, holder = epoch + 1, held_since = ? WHERE stream = ?",
          "epoch, checkpoint"))) {
        take.setLong(1, now);
        take.setString(2, stream);
        try (ResultSet taken = take.executeQuery()) {
          if (taken.next()) return new Taken(taken.getLong(1), taken.getString(2));
        }
      }
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + settings.checkpointsTable
          + " (stream, epoch, holder, held_since, routine_saves, notable_saves) VALUES (?, 1, 1, ?, 0, 0)")) {
        insert.setString(1, stream);
        insert.setLong(2, now);
        insert.executeUpdate();
        return new Taken(1, null);
      } catch (SQLException e) {
        // Another node inserted the row first: take the next epoch after its.
        if (!UNIQUE_VIOLATION.equals(e.getSQLState()) || attempt > 0) throw e;
      }
    }
  }

  /**
   * The fenced save, in one transaction: the conditional update of the stream's row, which locks it,
   * then the history slot. Refused, changing nothing, when a newer epoch was taken or the position
   * would move back (a gap may).
   */
  private void saveFenced(Connection connection, String stream, Checkpoint saved, String json, long epoch) throws SQLException {
    boolean routine = CheckpointJson.routine(saved);
    BsonTimestamp at = saved.clusterTime();
    boolean anyPosition = at == null || saved.kind() == CheckpointKind.GAP;
    long[] counts;
    connection.setAutoCommit(false);
    try {
      try (PreparedStatement update = connection.prepareStatement(returning("UPDATE " + settings.checkpointsTable
          + " SET checkpoint = ?, at_seconds = ?, at_increment = ?, epoch = GREATEST(epoch, ?),"
          + " routine_saves = routine_saves + ?, notable_saves = notable_saves + ?"
          + " WHERE stream = ? AND epoch <= ?"
          + " AND (? OR at_seconds IS NULL OR at_seconds < ? OR (at_seconds = ? AND at_increment <= ?))",
          "routine_saves, notable_saves"))) {
        update.setString(1, json);
        setPosition(update, 2, at);
        update.setLong(4, epoch);
        update.setInt(5, routine ? 1 : 0);
        update.setInt(6, routine ? 0 : 1);
        update.setString(7, stream);
        update.setLong(8, epoch);
        update.setBoolean(9, anyPosition);
        long seconds = at == null ? 0 : at.getTime() & 0xffffffffL;
        long increment = at == null ? 0 : at.getInc() & 0xffffffffL;
        update.setLong(10, seconds);
        update.setLong(11, seconds);
        update.setLong(12, increment);
        try (ResultSet result = update.executeQuery()) {
          counts = result.next() ? new long[] {result.getLong(1), result.getLong(2)} : null;
        }
      }
      if (counts == null) {
        connection.rollback();
        throw refusal(connection, stream, saved, epoch);
      }
      writeHistory(connection, stream, routine, counts, json);
      connection.commit();
    } catch (SQLException | RuntimeException e) {
      connection.rollback();
      throw e;
    } finally {
      connection.setAutoCommit(true);
    }
  }

  /** Why a fenced save matched no row, read back from the row. */
  private FencedException refusal(Connection connection, String stream, Checkpoint saved, long epoch) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement(
        "SELECT epoch, at_seconds, at_increment FROM " + settings.checkpointsTable + " WHERE stream = ?")) {
      select.setString(1, stream);
      try (ResultSet row = select.executeQuery()) {
        if (!row.next()) {
          return new FencedException("stream '" + stream + "': checkpoint refused: the stream's row in " + location()
              + " was deleted since epoch " + epoch + " was taken");
        }
        long current = row.getLong(1);
        if (current > epoch) {
          return new FencedException("stream '" + stream + "': checkpoint refused: epoch " + epoch + " is older than the stream's epoch "
              + current + ": another consumer has taken the stream");
        }
        return new FencedException("stream '" + stream + "': checkpoint refused: it would move the checkpoint backwards (stored at "
            + new BsonTimestamp((int) row.getLong(2), (int) row.getLong(3)) + ", new at " + saved.clusterTime() + ")");
      }
    }
  }

  /** Writes the entry into its slot of the stream's ring (routine or notable): the oldest of its kind gives way. */
  void writeHistory(Connection connection, String stream, boolean routine, long[] counts, String json) throws SQLException {
    long count = routine ? counts[0] : counts[1];
    int slot = (int) ((count - 1) % settings.historySize);
    long seq = counts[0] + counts[1];
    try (PreparedStatement update = connection.prepareStatement("UPDATE " + settings.historyTable
        + " SET seq = ?, entry = ? WHERE stream = ? AND notable = ? AND slot = ?")) {
      update.setLong(1, seq);
      update.setString(2, json);
      update.setString(3, stream);
      update.setBoolean(4, !routine);
      update.setInt(5, slot);
      if (update.executeUpdate() > 0) return;
    }
    // The stream's row is locked by this transaction: no other writer can insert this slot meanwhile.
    try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + settings.historyTable
        + " (stream, notable, slot, seq, entry) VALUES (?, ?, ?, ?, ?)")) {
      insert.setString(1, stream);
      insert.setBoolean(2, !routine);
      insert.setInt(3, slot);
      insert.setLong(4, seq);
      insert.setString(5, json);
      insert.executeUpdate();
    }
  }

  /** Sets the two position parameters at {@code index}: the cluster time's seconds and increment, or nulls. */
  static void setPosition(PreparedStatement statement, int index, BsonTimestamp at) throws SQLException {
    if (at == null) {
      statement.setNull(index, Types.BIGINT);
      statement.setNull(index + 1, Types.BIGINT);
    } else {
      statement.setLong(index, at.getTime() & 0xffffffffL);
      statement.setLong(index + 1, at.getInc() & 0xffffffffL);
    }
  }

  String readCheckpoint(Connection connection, String stream) throws SQLException {
    try (PreparedStatement select = connection.prepareStatement("SELECT checkpoint FROM " + settings.checkpointsTable + " WHERE stream = ?")) {
      select.setString(1, stream);
      try (ResultSet row = select.executeQuery()) {
        return row.next() ? row.getString(1) : null;
      }
    }
  }

  /** The history, oldest first: the newest {@code history-size} of each kind; entries that do not parse are left out. */
  List<Checkpoint> readHistory(Connection connection, String stream) throws SQLException {
    List<Checkpoint> entries = new ArrayList<>();
    List<Boolean> notable = new ArrayList<>();
    try (PreparedStatement select = connection.prepareStatement(
        "SELECT notable, entry FROM " + settings.historyTable + " WHERE stream = ? ORDER BY seq")) {
      select.setString(1, stream);
      try (ResultSet rows = select.executeQuery()) {
        while (rows.next()) {
          try {
            entries.add(CheckpointJson.decode(stream, rows.getString(2), location()));
            notable.add(rows.getBoolean(1));
          } catch (RuntimeException unreadable) {
            // left out, as StreamCheckpoints.history() says
          }
        }
      }
    }
    // Slots left from a larger history-size than today's: keep the newest of each kind.
    long notables = notable.stream().filter(n -> n).count();
    long dropNotable = Math.max(0, notables - settings.historySize);
    long dropRoutine = Math.max(0, entries.size() - notables - settings.historySize);
    List<Checkpoint> kept = new ArrayList<>(entries.size());
    for (int i = 0; i < entries.size(); i++) {
      if (notable.get(i) ? dropNotable-- > 0 : dropRoutine-- > 0) continue;
      kept.add(entries.get(i));
    }
    return kept;
  }

  /** The statement, answering {@code columns} of the rows it changed: RETURNING on PostgreSQL, a FINAL TABLE on H2. */
  String returning(String update, String columns) {
    return postgres ? update + " RETURNING " + columns : "SELECT " + columns + " FROM FINAL TABLE (" + update + ")";
  }

  /** Where the checkpoints are, for messages: the URL without its password, and the table. */
  String location() {
    return settings.redactedUrl() + " (table " + settings.checkpointsTable + ")";
  }

  /** Creates the two tables when they do not exist (once per store, at its first call). */
  private void ensureTables(Connection connection) throws SQLException {
    if (tablesReady || !settings.createTables) return;
    synchronized (this) {
      if (tablesReady) return;
      try (Statement ddl = connection.createStatement()) {
        for (String sql : ddl(settings)) ddl.execute(sql);
      }
      tablesReady = true;
    }
  }

  /**
   * The tables, as documented in docs/operations.md: the position is the cluster time's seconds and
   * increment, two columns compared in that order (as unsigned 32-bit numbers, which a BIGINT holds).
   */
  static List<String> ddl(SqlCheckpointSettings settings) {
    return List.of(
        "CREATE TABLE IF NOT EXISTS " + settings.checkpointsTable + " ("
            + "stream VARCHAR(100) NOT NULL PRIMARY KEY, "
            + "epoch BIGINT NOT NULL, "
            + "holder BIGINT NOT NULL, "
            + "held_since BIGINT, "
            + "at_seconds BIGINT, "
            + "at_increment BIGINT, "
            + "routine_saves BIGINT NOT NULL, "
            + "notable_saves BIGINT NOT NULL, "
            + "checkpoint VARCHAR)",
        "CREATE TABLE IF NOT EXISTS " + settings.historyTable + " ("
            + "stream VARCHAR(100) NOT NULL, "
            + "notable BOOLEAN NOT NULL, "
            + "slot INT NOT NULL, "
            + "seq BIGINT NOT NULL, "
            + "entry VARCHAR NOT NULL, "
            + "PRIMARY KEY (stream, notable, slot))");
  }

  interface SqlWork<T> {
    T apply(Connection connection) throws SQLException;
  }

  /** Runs {@code work} on a pooled connection on the executor, bounded in time; SQL errors become "unavailable". */
  <T> CompletionStage<T> call(String what, SqlWork<T> work) {
    return CompletableFuture.supplyAsync(() -> {
          try (Connection connection = pool.getConnection()) {
            ensureTables(connection);
            return work.apply(connection);
          } catch (SQLException e) {
            throw new CompletionException(new CheckpointStoreUnavailableException(
                "could not " + what + " in " + location() + ": " + Errors.oneLine(e.getMessage())
                    + (e.getCause() != null && e.getCause() != e ? ": " + Errors.oneLine(String.valueOf(e.getCause().getMessage())) : "")
                    + " (SQLState " + e.getSQLState() + "; expected a reachable H2 or PostgreSQL database at tidemark.checkpoint.sql.url)", e));
          }
        }, executor)
        .orTimeout(settings.timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(error -> {
          Throwable cause = Errors.unwrap(error);
          if (cause instanceof TimeoutException) {
            throw new CheckpointStoreUnavailableException("could not " + what + " in " + location() + ": no answer within "
                + settings.timeout.toMillis() + " ms (tidemark.checkpoint.sql.timeout)", cause);
          }
          throw error instanceof CompletionException completion ? completion : new CompletionException(cause);
        });
  }
}
