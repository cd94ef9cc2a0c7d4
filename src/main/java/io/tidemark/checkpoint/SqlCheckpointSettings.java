package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.regex.Pattern;

/**
 * Settings of the plain SQL checkpoint store, from {@code tidemark.checkpoint.sql}. With an empty
 * {@code url} the store uses the database of the akka-persistence-jdbc journal (the embedded
 * default's H2 file, or the PostgreSQL of production), with that database's user and password.
 * The password is never shown: {@link #toString()} and every message name the URL with
 * {@code password=***}.
 */
public final class SqlCheckpointSettings {
  private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

  public final String url;
  public final String user;
  final String password;
  public final String checkpointsTable;
  public final String historyTable;
  public final boolean createTables;
  public final int historySize;
  public final int poolSize;
  public final Duration timeout;

  private SqlCheckpointSettings(String url, String user, String password, String checkpointsTable, String historyTable,
      boolean createTables, int historySize, int poolSize, Duration timeout) {
    JournalSchema.dialect(url); // h2 or postgres, or a clear error naming the URL without its password
    this.url = url;
    this.user = user;
    this.password = password;
    this.checkpointsTable = checkpointsTable;
    this.historyTable = historyTable;
    this.createTables = createTables;
    this.historySize = historySize;
    this.poolSize = poolSize;
    this.timeout = timeout;
  }

  public static SqlCheckpointSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static SqlCheckpointSettings create(Config config) {
    String p = "tidemark.checkpoint.sql.";
    String url = config.getString(p + "url");
    String user;
    String password;
    if (url.isBlank()) {
      // The journal's database, as the event-sourced store uses it.
      Config db;
      try {
        db = JournalSchema.database(config, journalPlugin(config));
      } catch (TidemarkException noJournal) {
        throw new TidemarkException("invalid config key " + p + "url = \"\": empty means the journal's database, but " + noJournal.getMessage()
            + "; or set " + p + "url to jdbc:h2:... or jdbc:postgresql://...");
      }
      url = db.getString("db.url");
      user = db.hasPath("db.user") ? db.getString("db.user") : "";
      password = db.hasPath("db.password") ? db.getString("db.password") : "";
    } else {
      if (!url.startsWith("jdbc:")) {
        throw new TidemarkException("invalid config key " + p + "url = \"" + JournalSchema.redactUrl(url)
            + "\": expected jdbc:h2:... or jdbc:postgresql://..., or empty for the journal's database");
      }
      user = config.getString(p + "user");
      password = readPassword(config.getString(p + "password-file"), p + "password-file");
    }
    return new SqlCheckpointSettings(url, user, password,
        table(config, p + "checkpoints-table"), table(config, p + "history-table"),
        ConfigCheck.flag(config, p + "create-tables"),
        ConfigCheck.positiveInt(config, p + "history-size"),
        ConfigCheck.positiveInt(config, p + "pool-size"),
        ConfigCheck.positiveDuration(config, p + "timeout"));
  }

  /** The journal plugin whose database an empty url means: tidemark.checkpoint.jdbc.journal-plugin, or Akka's default. */
  private static String journalPlugin(Config config) {
    for (String key : new String[] {"tidemark.checkpoint.jdbc.journal-plugin", "akka.persistence.journal.plugin"}) {
      if (config.hasPath(key) && !config.getString(key).isBlank()) return config.getString(key);
    }
    throw new TidemarkException("no journal is configured (tidemark.checkpoint.jdbc.journal-plugin, akka.persistence.journal.plugin)");
  }

  /** The password in {@code file} (its first line), or none for an empty path. */
  static String readPassword(String file, String key) {
    if (file.isBlank()) return "";
    try {
      String content = Files.readString(Path.of(file), StandardCharsets.UTF_8);
      int end = content.indexOf('\n');
      return (end < 0 ? content : content.substring(0, end)).strip();
    } catch (IOException | RuntimeException e) {
      throw new TidemarkException("cannot read the password file " + file + " (" + key + "): " + Errors.oneLine(String.valueOf(e.getMessage()))
          + "; expected a readable file whose first line is the database password");
    }
  }

  private static String table(Config config, String key) {
    String table = ConfigCheck.nonEmptyString(config, key);
    if (!TABLE.matcher(table).matches()) {
      throw new TidemarkException("invalid config key " + key + " = \"" + table
          + "\": expected a table name (letters, digits and _, optionally schema.table)");
    }
    return table;
  }

  /** h2 or postgres. */
  String dialect() {
    return JournalSchema.dialect(url);
  }

  /** The URL as it may be shown: without a password. */
  public String redactedUrl() {
    return JournalSchema.redactUrl(url);
  }

  /** The same settings on another database, with its user and password. */
  public SqlCheckpointSettings withDatabase(String url, String user, String password) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  /** The same settings at another URL of the same database server, with the same user and password. */
  public SqlCheckpointSettings withUrl(String url) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  public SqlCheckpointSettings withTables(String checkpointsTable, String historyTable) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  public SqlCheckpointSettings withHistorySize(int historySize) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  /** The same settings, creating the tables on first use or not (tools that only read must not create them). */
  public SqlCheckpointSettings withCreateTables(boolean createTables) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  public SqlCheckpointSettings withTimeout(Duration timeout) {
    return new SqlCheckpointSettings(url, user, password, checkpointsTable, historyTable, createTables, historySize, poolSize, timeout);
  }

  @Override
  public String toString() {
    return "SqlCheckpointSettings(" + redactedUrl() + ", tables " + checkpointsTable + ", " + historyTable + ")";
  }
}
