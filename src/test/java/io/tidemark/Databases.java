package io.tidemark;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The PostgreSQL the tests use: 127.0.0.1:5432, database test, user postgres (override with
 * TIDEMARK_TEST_PG_URL / _USER / _PASSWORD); and the MariaDB: 127.0.0.1:3306, database test, user
 * root with an empty password (override with TIDEMARK_TEST_MARIADB_URL / _USER / _PASSWORD). Where
 * one is not reachable its tests are skipped, except in CI (CI=true), where that is a failure: CI
 * must run them.
 */
public final class Databases {
  private Databases() {}

  public static final String PG_URL = env("TIDEMARK_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
  public static final String PG_USER = env("TIDEMARK_TEST_PG_USER", "postgres");
  public static final String PG_PASSWORD = env("TIDEMARK_TEST_PG_PASSWORD", "");

  public static final String MARIADB_URL = env("TIDEMARK_TEST_MARIADB_URL", "jdbc:mariadb://127.0.0.1:3306/test");
  public static final String MARIADB_USER = env("TIDEMARK_TEST_MARIADB_USER", "root");
  public static final String MARIADB_PASSWORD = env("TIDEMARK_TEST_MARIADB_PASSWORD", "");

  private static String env(String name, String fallback) {
    String value = System.getenv(name);
    return value == null || value.isBlank() ? fallback : value;
  }

  public static boolean inCi() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /** Skips the calling test when PostgreSQL is unreachable, unless in CI, where it fails. */
  public static void requirePostgres() {
    try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD)) {
      connection.isValid(2);
    } catch (SQLException e) {
      if (inCi()) {
        throw new AssertionError("PostgreSQL at " + PG_URL + " is required in CI (CI=true) but unreachable: " + e.getMessage(), e);
      }
      assumeTrue(false, "PostgreSQL at " + PG_URL + " unreachable, skipping: " + e.getMessage());
    }
  }

  /** A fresh schema, so each run starts from empty tables. */
  public static String createSchema(String prefix) {
    String schema = prefix + "_" + Long.toHexString(System.nanoTime());
    execute("CREATE SCHEMA " + schema);
    return schema;
  }

  public static void dropSchema(String schema) {
    execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
  }

  public static String pgUrl(String schema) {
    return PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
  }

  private static void execute(String sql) {
    try (Connection connection = DriverManager.getConnection(PG_URL, PG_USER, PG_PASSWORD);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }

  /** Skips the calling test when MariaDB is unreachable, unless in CI, where it fails. */
  public static void requireMariaDb() {
    try (Connection connection = DriverManager.getConnection(MARIADB_URL, MARIADB_USER, MARIADB_PASSWORD)) {
      connection.isValid(2);
    } catch (SQLException e) {
      if (inCi()) {
        throw new AssertionError("MariaDB at " + MARIADB_URL + " is required in CI (CI=true) but unreachable: " + e.getMessage(), e);
      }
      assumeTrue(false, "MariaDB at " + MARIADB_URL + " unreachable, skipping: " + e.getMessage());
    }
  }

  /** A fresh MariaDB database (MariaDB's schemas are databases), so each run starts from empty tables. */
  public static String createMariaDbDatabase(String prefix) {
    String database = prefix + "_" + Long.toHexString(System.nanoTime());
    executeOnMariaDb("CREATE DATABASE " + database);
    return database;
  }

  public static void dropMariaDbDatabase(String database) {
    executeOnMariaDb("DROP DATABASE IF EXISTS " + database);
  }

  /** The URL of {@code database} on the test server: {@link #MARIADB_URL} with its database replaced. */
  public static String mariaDbUrl(String database) {
    int query = MARIADB_URL.indexOf('?');
    String base = query < 0 ? MARIADB_URL : MARIADB_URL.substring(0, query);
    String options = query < 0 ? "" : MARIADB_URL.substring(query);
    return base.substring(0, base.lastIndexOf('/') + 1) + database + options;
  }

  private static void executeOnMariaDb(String sql) {
    try (Connection connection = DriverManager.getConnection(MARIADB_URL, MARIADB_USER, MARIADB_PASSWORD);
        Statement statement = connection.createStatement()) {
      statement.execute(sql);
    } catch (SQLException e) {
      throw new IllegalStateException(sql + ": " + e.getMessage(), e);
    }
  }
}
