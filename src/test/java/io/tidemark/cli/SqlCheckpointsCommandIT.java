package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import io.tidemark.Databases;
import io.tidemark.Errors;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.checkpoint.SqlCheckpointSettings;
import io.tidemark.checkpoint.SqlCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark checkpoints ... --sql [JDBC_URL]} against checkpoints written by the plain SQL
 * store on an H2 file: "orders" (stopped, released) and "held" (its consumer never let go); the
 * rewind and reset come after the reads. And the same store on PostgreSQL, its password read from
 * a file and never shown (PostgreSQL is required in CI).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class SqlCheckpointsCommandIT {
  private final ExecutorService executor = Executors.newCachedThreadPool();
  private String url;
  private Path config;
  private SqlCheckpointStore store;
  private StreamCheckpoints held;
  private long heldEpoch;

  private static BsonDocument token(int seconds, int inc) {
    return new BsonDocument("_data", new BsonString(String.format("82%016x", new BsonTimestamp(seconds, inc).getValue())));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private static SqlCheckpointSettings settings(String url, String user, String password) {
    return SqlCheckpointSettings.create(ConfigFactory.parseString("tidemark.checkpoint.sql.url = \"jdbc:h2:mem:unused\"")
        .withFallback(ConfigFactory.load())).withDatabase(url, user, password);
  }

  /** Writes "orders" (released) and "held" (never let go) through {@code store}; answers the held record. */
  private static StreamCheckpoints write(SqlCheckpointStore store) throws Exception {
    StreamCheckpoints orders = await(store.open("orders"));
    long epoch = await(orders.acquire()).epoch();
    for (int i = 1; i <= 3; i++) {
      await(orders.save(Checkpoint.atToken("orders", token(1_800_000_000 + i, 1), new BsonTimestamp(1_800_000_000 + i, 1)), epoch));
    }
    await(orders.save(Checkpoint.atOperationTime("orders", new BsonTimestamp(1_800_000_100, 0))
        .as(CheckpointKind.GAP, "history lost at resumeAfter ...: restart-from-now"), epoch));
    await(orders.close());
    StreamCheckpoints held = await(store.open("held"));
    long heldEpoch = await(held.acquire()).epoch();
    await(held.save(Checkpoint.atToken("held", token(1_800_000_050, 7), new BsonTimestamp(1_800_000_050, 7)), heldEpoch));
    return held; // never closed: like a consumer that crashed, it still holds the stream
  }

  @BeforeAll
  void writeCheckpoints(@TempDir Path dir) throws Exception {
    url = "jdbc:h2:file:" + dir.resolve("checkpoints") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    config = dir.resolve("h2.conf");
    Files.writeString(config, "tidemark.checkpoint.sql.user = sa\n");
    store = SqlCheckpointStore.create(settings(url, "sa", ""), executor);
    held = write(store);
    heldEpoch = await(held.load()).orElseThrow().epoch();
  }

  @AfterAll
  void shutdown() {
    if (store != null) store.close();
    executor.shutdownNow();
  }

  record Outcome(int exitCode, String out, String err) {}

  private static Outcome execute(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Outcome(code, out.toString(), err.toString());
  }

  private Outcome run(String... args) {
    String[] full = java.util.Arrays.copyOf(args, args.length + 4);
    full[args.length] = "--sql";
    full[args.length + 1] = url;
    full[args.length + 2] = "--config";
    full[args.length + 3] = config.toString();
    return execute(full);
  }

  @Test
  @Order(1)
  void listShowAndHistoryReadTheSqlStore() {
    Outcome listed = run("checkpoints", "list");
    assertThat(listed.exitCode()).as(listed.err()).isZero();
    String[] lines = listed.out().strip().split("\n");
    assertThat(lines).hasSize(3);
    assertThat(lines[1]).startsWith("held ").contains("event", "Timestamp(1800000050, 7)", "epoch " + heldEpoch, "resumeAfter");
    assertThat(lines[2]).startsWith("orders ").contains("gap", "Timestamp(1800000100, 0)", "startAtOperationTime");

    Outcome shown = run("checkpoints", "show", "orders");
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out())
        .contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)")
        .contains("note:          history lost at resumeAfter ...: restart-from-now")
        .contains("held by:       nobody")
        .contains("saves:         4");

    Outcome history = run("checkpoints", "history", "orders");
    assertThat(history.exitCode()).as(history.err()).isZero();
    String[] entries = history.out().strip().split("\n");
    assertThat(entries).hasSize(5);
    assertThat(entries[1]).contains("event", "Timestamp(1800000001, 1)");
    assertThat(entries[4]).contains("gap", "restart-from-now");
  }

  /** Without a URL, --sql reads the store's tables in the checkpoint database --checkpoints names (the journal's by default). */
  @Test
  @Order(1)
  void withoutAUrlTheTablesAreReadInTheCheckpointDatabase() {
    Outcome shown = execute("checkpoints", "show", "orders", "--checkpoints", url, "--sql");
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out()).contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)");
  }

  @Test
  void anUnknownStreamNamesTheKnownOnes() {
    Outcome outcome = run("checkpoints", "show", "nosuch");
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err().strip()).startsWith("error: unknown stream 'nosuch': jdbc:h2:file:").endsWith("has these: held, orders");
  }

  @Test
  @Order(2)
  void aHeldStreamIsRefusedUnlessForcedAndForcingFencesTheConsumerOut() throws Exception {
    Outcome refused = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes");
    assertThat(refused.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(refused.err().strip()).startsWith("error: refused: the consumer with epoch " + heldEpoch + " holds the stream (since ")
        .endsWith("then pass --force, which fences it out");

    Outcome forced = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes", "--force");
    assertThat(forced.exitCode()).as(forced.err()).isZero();
    assertThat(forced.out()).contains("rewound 'held' to startAtOperationTime Timestamp(1800000000, 0)");
    assertThat(run("checkpoints", "show", "held").out()).contains("held by:       nobody").contains("kind:          rewind");

    Checkpoint late = Checkpoint.atToken("held", token(1_800_000_060, 1), new BsonTimestamp(1_800_000_060, 1));
    Throwable fenced = Errors.unwrap(held.save(late, heldEpoch).toCompletableFuture().handle((done, error) -> error).get(30, TimeUnit.SECONDS));
    assertThat(fenced).isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
    assertThat(await(held.load()).orElseThrow().clusterTime()).isEqualTo(new BsonTimestamp(1_800_000_000, 0));

    Outcome reset = run("checkpoints", "reset", "held", "--yes");
    assertThat(reset.exitCode()).as(reset.err()).isZero();
    assertThat(run("checkpoints", "show", "held").out()).contains("checkpoint:    none");
    assertThat(run("checkpoints", "history", "held").out()).contains("rewound by hand").contains("reset by hand");
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

  @Test
  void twoStoresAtOnceAreRefused() {
    Outcome outcome = execute("checkpoints", "list", "--sql", url, "--redis", "redis://127.0.0.1:1");
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err()).contains("--checkpoints, --sql JDBC_URL, --mongodb and --redis each name a store: give one");
  }

  /** On PostgreSQL, the user and the password file from --config; the password never shows, even when the login fails. */
  @Test
  void onPostgresTheUserAndPasswordFileComeFromTheConfig(@TempDir Path dir) throws Exception {
    Databases.requirePostgres();
    String schema = Databases.createSchema("tidemark_sql_cli");
    try (SqlCheckpointStore postgres = SqlCheckpointStore.create(
        settings(Databases.pgUrl(schema), Databases.PG_USER, Databases.PG_PASSWORD), executor)) {
      write(postgres);
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
