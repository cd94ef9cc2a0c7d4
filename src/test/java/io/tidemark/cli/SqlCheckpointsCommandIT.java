package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.tidemark.Databases;
import io.tidemark.checkpoint.SqlCheckpointSettings;
import io.tidemark.checkpoint.SqlCheckpointStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark checkpoints ... --sql [JDBC_URL]} against checkpoints written by the plain SQL
 * store on an H2 file: the {@link CheckpointsCommandScenarios}, then export and import. And the
 * same store on PostgreSQL, its password read from a file and never shown (PostgreSQL is required
 * in CI).
 */
class SqlCheckpointsCommandIT extends CheckpointsCommandScenarios {
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private String url;
  private Path config;
  private SqlCheckpointStore store;

  private static SqlCheckpointSettings settings(String url, String user, String password) {
    return SqlCheckpointSettings.create(ConfigFactory.parseString("tidemark.checkpoint.sql.url = \"jdbc:h2:mem:unused\"")
        .withFallback(ConfigFactory.load())).withDatabase(url, user, password);
  }

  @BeforeAll
  void writeCheckpoints(@TempDir Path dir) throws Exception {
    url = "jdbc:h2:file:" + dir.resolve("checkpoints") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    config = dir.resolve("h2.conf");
    Files.writeString(config, "tidemark.checkpoint.sql.user = sa\n");
    store = SqlCheckpointStore.create(settings(url, "sa", ""), executor);
    writeTheCheckpoints(store);
  }

  @AfterAll
  void shutdown() {
    if (store != null) store.close();
    executor.shutdownNow();
  }

  @Override
  protected String[] storeFlags() {
    return new String[] {"--sql", url};
  }

  @Override
  protected String[] configFlags() {
    return new String[] {"--config", config.toString()};
  }

  @Override
  protected String storeNamedInErrors() {
    return url + ";IFEXISTS=TRUE (table tidemark_checkpoints)"; // the command opens only a database that is there
  }

  @Override
  protected String[] anotherStoresFlags() {
    return new String[] {"--redis", "redis://127.0.0.1:1"};
  }

  /** Without a URL, --sql reads the store's tables in the checkpoint database --checkpoints names (the journal's by default). */
  @Test
  @Order(1)
  void withoutAUrlTheTablesAreReadInTheCheckpointDatabase() {
    Outcome shown = execute("checkpoints", "show", "orders", "--checkpoints", url, "--sql");
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out()).contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)");
  }

  /** Export from one database, import into a new one: the tables are created there, and each stream is at its exported position. */
  @Test
  @Order(3)
  void exportThenImportCarriesTheCheckpointsToANewDatabase(@TempDir Path other) throws Exception {
    Path exported = other.resolve("checkpoints.json");
    Outcome export = run("checkpoints", "export", "--out", exported.toString());
    assertThat(export.exitCode()).as(export.err()).isZero();
    String target = "jdbc:h2:file:" + other.resolve("moved") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    Outcome imported = execute("checkpoints", "import", exported.toString(), "--yes", "--sql", target, "--config", config.toString());
    assertThat(imported.exitCode()).as(imported.err()).isZero();
    assertThat(imported.out()).contains("imported 'orders': startAtOperationTime Timestamp(1800000100, 0)");
    Outcome shown = execute("checkpoints", "show", "orders", "--sql", target, "--config", config.toString());
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out()).contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)").contains("kind:          rewind")
        .contains("held by:       nobody");
  }

  @Test
  void aDatabaseWithoutTheTablesIsNamedAndLeftAsItWas(@TempDir Path empty) {
    String nowhere = "jdbc:h2:file:" + empty.resolve("none") + ";WRITE_DELAY=0";
    Outcome outcome = execute("checkpoints", "list", "--sql", nowhere);
    assertThat(outcome.exitCode()).isNotZero();
    assertThat(outcome.err()).contains(empty.resolve("none").toString());
    assertThat(empty.resolve("none.mv.db")).doesNotExist();
  }

  /** On PostgreSQL, the user and the password file from --config; the password never shows, even when the login fails. */
  @Test
  void onPostgresTheUserAndPasswordFileComeFromTheConfig(@TempDir Path dir) throws Exception {
    Databases.requirePostgres();
    String schema = Databases.createSchema("tidemark_sql_cli");
    try (SqlCheckpointStore postgres = SqlCheckpointStore.create(
        settings(Databases.pgUrl(schema), Databases.PG_USER, Databases.PG_PASSWORD), executor)) {
      seed(postgres);
      Path password = dir.resolve("password");
      Files.writeString(password, Databases.PG_PASSWORD + "\n");
      Path config = dir.resolve("sql.conf");
      Files.writeString(config, "tidemark.checkpoint.sql { user = \"" + Databases.PG_USER + "\", password-file = \""
          + password.toString().replace("\\", "\\\\") + "\" }\n");
      Outcome history = execute("checkpoints", "history", "orders", "--sql", Databases.pgUrl(schema), "--config", config.toString());
      assertThat(history.exitCode()).as(history.err()).isZero();
      assertThat(history.out().strip().split("\n")).hasSize(5);

      Outcome wrong = execute("checkpoints", "list", "--sql", Databases.pgUrl(schema) + "&password=secret-in-url", "--config", config.toString());
      assertThat(wrong.err()).doesNotContain("secret-in-url");
    } finally {
      Databases.dropSchema(schema);
    }
  }
}
