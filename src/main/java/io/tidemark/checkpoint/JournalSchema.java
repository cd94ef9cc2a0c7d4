package io.tidemark.checkpoint;

import com.typesafe.config.Config;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Locale;

/**
 * Creates the akka-persistence-jdbc tables the checkpoint entities need, with the DDL Tidemark
 * ships in {@code tidemark/schema/<dialect>.sql} (every statement is {@code IF NOT EXISTS}).
 */
@akka.annotation.InternalApi
public final class JournalSchema {
  private JournalSchema() {}

  /** The database of a journal plugin: its own {@code slick} block, or the shared one it names. */
  static Config database(Config config, String journalPlugin) {
    if (!config.hasPath(journalPlugin)) {
      throw new TidemarkException(
          "journal plugin " + journalPlugin + " is not configured (tidemark.checkpoint.jdbc.journal-plugin):"
              + " expected an akka-persistence-jdbc journal block, see conf/persistence.conf");
    }
    String shared = journalPlugin + ".use-shared-db";
    String path =
        config.hasPath(shared) && !config.getString(shared).isBlank()
            ? "akka-persistence-jdbc.shared-databases." + config.getString(shared)
            : journalPlugin + ".slick";
    if (!config.hasPath(path + ".db.url")) {
      throw new TidemarkException("missing config key " + path + ".db.url: expected the JDBC URL of the checkpoint database");
    }
    return config.getConfig(path);
  }

  /** h2 or postgres, from the JDBC URL. */
  public static String dialect(String url) {
    String lower = url.toLowerCase(Locale.ROOT);
    if (lower.startsWith("jdbc:h2:")) return "h2";
    if (lower.startsWith("jdbc:postgresql:")) return "postgres";
    throw new TidemarkException(
        "unsupported checkpoint database URL '" + url.replaceAll("password=[^;&]*", "password=***")
            + "': expected jdbc:h2:... or jdbc:postgresql://...");
  }

  public static void createIfMissing(Config config, String journalPlugin) {
    Config db = database(config, journalPlugin);
    String url = db.getString("db.url");
    String user = db.hasPath("db.user") ? db.getString("db.user") : null;
    String password = db.hasPath("db.password") ? db.getString("db.password") : null;
    String script = ddl(dialect(url));
    try (Connection connection = DriverManager.getConnection(url, user, password);
        Statement statement = connection.createStatement()) {
      for (String sql : script.split(";")) {
        if (!sql.isBlank()) statement.execute(sql);
      }
    } catch (SQLException e) {
      throw new TidemarkException(
          "could not create the checkpoint schema in " + redactUrl(url) + ": " + Errors.oneLine(e.getMessage()), e);
    }
  }

  /**
   * Checks that the checkpoint database is reachable and has the tables, without changing it: for
   * tools that only read it. Fails with the URL (password hidden) and what is wrong.
   */
  /** H2's DATABASE_ALREADY_OPEN_1: another process holds the file; the message quotes its path. */
  private static final int H2_DATABASE_ALREADY_OPEN = 90020;
  private static final java.util.regex.Pattern H2_IN_USE = java.util.regex.Pattern.compile("already in use: \"([^\"]+)\"");

  public static void check(Config config, String journalPlugin) {
    Config db = database(config, journalPlugin);
    String url = db.getString("db.url");
    String user = db.hasPath("db.user") ? db.getString("db.user") : null;
    String password = db.hasPath("db.password") ? db.getString("db.password") : null;
    dialect(url);
    if (url.toLowerCase(Locale.ROOT).startsWith("jdbc:h2:file:") && !url.contains("IFEXISTS")) {
      url = url + ";IFEXISTS=TRUE"; // reading must not create an empty database where there was none
    }
    try (Connection connection = DriverManager.getConnection(url, user, password)) {
      try (var tables = connection.getMetaData().getTables(null, null, "%", new String[] {"TABLE"})) {
        while (tables.next()) {
          if ("event_journal".equalsIgnoreCase(tables.getString("TABLE_NAME"))) return;
        }
      }
      throw new TidemarkException("the checkpoint database " + redactUrl(url) + " has no checkpoint tables (event_journal):"
          + " no Tidemark stream has run against it");
    } catch (SQLException e) {
      String message = Errors.oneLine(e.getMessage());
      java.util.regex.Matcher inUse = H2_IN_USE.matcher(String.valueOf(e.getMessage()));
      if (e.getErrorCode() == H2_DATABASE_ALREADY_OPEN && inUse.find()) {
        // As verify says it of the embedded MongoDB's file: the demo (or a node) holds the H2 file.
        java.nio.file.Path file = java.nio.file.Path.of(inUse.group(1));
        throw new TidemarkException("data directory " + file.getParent() + " is in use by another Tidemark process (" + file
            + " is locked): stop it first, or pass --checkpoints JDBC_URL to use a checkpoint server", e);
      }
      String hint = message.contains("already in use") || message.contains("locked")
          ? " (a running Tidemark holds this H2 file: stop it, or use `tidemark status` to ask it)"
          : message.contains("not found") ? " (no database there: check --checkpoints or --data)" : "";
      throw new TidemarkException("cannot reach the checkpoint database " + redactUrl(url) + ": " + message + hint, e);
    }
  }

  public static String ddl(String dialect) {
    String resource = "tidemark/schema/" + dialect + ".sql";
    try (InputStream in = JournalSchema.class.getClassLoader().getResourceAsStream(resource)) {
      if (in == null) throw new IllegalStateException("missing resource " + resource);
      StringBuilder sql = new StringBuilder();
      for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
        if (!line.trim().startsWith("--")) sql.append(line).append('\n');
      }
      return sql.toString();
    } catch (IOException e) {
      throw new IllegalStateException("cannot read " + resource, e);
    }
  }

  static String redactUrl(String url) {
    return url.replaceAll("(?i)password=[^;&]*", "password=***");
  }
}
