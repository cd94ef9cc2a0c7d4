package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Databases;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.connection.MongoConnector;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.PipelineControl;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bson.BsonDocument;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Each built-in sink type as the service configures it, end to end against the embedded server:
 * a stream's configuration in, the sink's output checked against what was written to MongoDB.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ServiceSinksIT {
  private final EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
  private final MongoClient client = MongoClients.create(mongo.connectionString());
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "service-sinks", ConfigFactory.load());

  @AfterAll
  void stop() throws Exception {
    client.close();
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    mongo.close();
  }

  /** Runs the one stream of {@code streams} while {@code work} writes, until {@code done}; returns after it drained. */
  private void run(String streams, Runnable work, java.util.function.BooleanSupplier done, java.util.function.Supplier<String> expected)
      throws Exception {
    Config config = ConfigFactory.parseString(streams).withFallback(ConfigFactory.load()).resolve();
    ServiceStreams.Checked checked = ServiceStreams.check(config, getClass().getClassLoader());
    try (ServiceStreams service = ServiceStreams.create(system, checked)) {
      String name = service.names().get(0);
      PipelineControl control = service.pipeline(name, mongo.connectionString(), InMemoryCheckpointStore.create(), null).run(system);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      work.run();
      Await.until(Duration.ofSeconds(30), done, expected);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void await(org.reactivestreams.Publisher<?> publisher) {
    try {
      MongoConnector.first(publisher).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new AssertionError(e);
    }
  }

  /** 30 orders and 5 customers inserted, orders 0..9 renamed, 10..14 deleted, and a scratch collection written. */
  private void workload(String database) {
    MongoCollection<Document> orders = client.getDatabase(database).getCollection("orders");
    for (int i = 0; i < 30; i++) await(orders.insertOne(new Document("_id", i).append("name", "order " + i)));
    for (int i = 0; i < 5; i++) await(client.getDatabase(database).getCollection("customers").insertOne(new Document("_id", i)));
    for (int i = 0; i < 10; i++) await(orders.updateOne(Filters.eq("_id", i), Updates.set("name", "renamed " + i)));
    for (int i = 10; i < 15; i++) await(orders.deleteOne(Filters.eq("_id", i)));
    await(client.getDatabase(database).getCollection("orders_tmp").insertOne(new Document("_id", 1)));
  }

  private static List<String> lines(Path directory) {
    if (!Files.isDirectory(directory)) return List.of();
    try (Stream<Path> files = Files.list(directory)) {
      List<String> lines = new ArrayList<>();
      for (Path file : files.sorted().toList()) lines.addAll(Files.readAllLines(file));
      return lines;
    } catch (IOException e) {
      return List.of();
    }
  }

  @Test
  void fileSinkWritesTheDocumentsOfTheIncludedNamespacesInRotatedFiles(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("out");
    CountingHandler.HANDLED.set(0);
    run("""
        tidemark.streams.shop-files {
          source {
            database = files_db
            include-namespaces = ["files_db\\\\.orders.*"]
            exclude-namespaces = [".*_tmp"]
            full-document = updateLookup
          }
          format = document
          # At most 5 lines a write: a file is rotated after the write that fills it, so 45 lines in one
          # write (a workload done before the stream read it) would leave a single file.
          sink { type = file, directory = "%s", max-size = 1KiB, batch-size = 5 }
          stages = ["%s", "%s"]
        }
        """.formatted(out.toString().replace("\\", "\\\\"), UpperCaseStage.class.getName(), CountingHandler.class.getName()),
        () -> workload("files_db"), () -> lines(out).size() >= 45, () -> "45 lines in " + out + ": " + lines(out));

    List<String> lines = lines(out);
    assertThat(lines).hasSize(45);
    Map<Integer, BsonDocument> state = new TreeMap<>();
    for (String line : lines) {
      BsonDocument document = BsonDocument.parse(line);
      int id = document.getInt32("_id").getValue();
      if (document.containsKey("__deleted")) state.remove(id);
      else state.put(id, document);
    }
    assertThat(state).hasSize(25);
    assertThat(state.get(3).getString("name").getValue()).as("updated, through the user's stage").isEqualTo("RENAMED 3");
    assertThat(state.get(20).getString("name").getValue()).isEqualTo("ORDER 20");
    assertThat(lines).noneMatch(line -> line.contains("customers"));
    assertThat(CountingHandler.HANDLED.get()).as("events handed to the handler stage").isEqualTo(45);
    try (Stream<Path> files = Files.list(out)) {
      List<String> names = files.map(path -> path.getFileName().toString()).sorted().toList();
      assertThat(names.size()).as("rotated at 1 KiB: %s", names).isGreaterThan(1);
      assertThat(names.get(0)).isEqualTo("shop-files-000001.jsonl");
    }
  }

  /**
   * A database stream with an include list and {@code startup = snapshot-then-stream}: the kept
   * collections' documents are copied (as Debezium's read events, {@code op = r}), collection after
   * collection, the left-out one is not, and the changes after the copy follow.
   */
  @Test
  void aSnapshotOfTheIncludedCollectionsThenTheirChanges(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("many");
    for (String collection : List.of("customers", "orders", "orders_tmp")) {
      for (int i = 0; i < 20; i++) await(client.getDatabase("many_db").getCollection(collection).insertOne(new Document("_id", i)));
    }
    run("""
        tidemark.streams.many-debezium {
          source {
            database = many_db
            include-namespaces = ["many_db[.](customers|orders)"]
            startup = snapshot-then-stream
          }
          format = debezium
          sink { type = file, directory = "%s" }
        }
        """.formatted(out.toString().replace("\\", "\\\\")),
        () -> {
          // After the copy, so that the inserts are changes only (one made during the copy may be copied too).
          Await.until(Duration.ofSeconds(30), () -> lines(out).size() >= 40, () -> "the 40 copied documents in " + out);
          for (String collection : List.of("customers", "orders", "orders_tmp")) {
            await(client.getDatabase("many_db").getCollection(collection).insertOne(new Document("_id", 100)));
          }
        },
        () -> lines(out).size() >= 42, () -> "40 copied documents and 2 inserts in " + out + ": " + lines(out).size());
    List<BsonDocument> envelopes = lines(out).stream().map(BsonDocument::parse).toList();
    assertThat(envelopes).hasSize(42);
    List<String> seen = envelopes.stream()
        .map(e -> e.getString("op").getValue() + " " + e.getDocument("source").getString("collection").getValue()).toList();
    List<String> expected = new ArrayList<>();
    for (int i = 0; i < 20; i++) expected.add("r customers");
    for (int i = 0; i < 20; i++) expected.add("r orders");
    expected.add("c customers");
    expected.add("c orders");
    assertThat(seen).as("the copy, collection after collection, then the changes").isEqualTo(expected);
  }

  /**
   * A collection created with pre-images: a stream that asks for them when available writes
   * Debezium envelopes whose {@code before} is the document before each update and delete.
   */
  @Test
  void debeziumEnvelopesCarryThePreImagesOfACollectionThatKeepsThem(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("debezium");
    await(client.getDatabase("debezium_db").createCollection("orders", new com.mongodb.client.model.CreateCollectionOptions()
        .changeStreamPreAndPostImagesOptions(new com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions(true))));
    run("""
        tidemark.streams.orders-debezium {
          source { database = debezium_db, collection = orders, full-document = updateLookup, full-document-before-change = whenAvailable }
          format = debezium
          sink { type = file, directory = "%s" }
        }
        """.formatted(out.toString().replace("\\", "\\\\")),
        () -> workload("debezium_db"), () -> lines(out).size() >= 45, () -> "45 envelopes in " + out + ": " + lines(out));
    List<BsonDocument> envelopes = lines(out).stream().map(BsonDocument::parse).toList();
    assertThat(envelopes).hasSize(45);
    List<String> ops = new ArrayList<>();
    for (int i = 0; i < 45; i++) ops.add(i < 30 ? "c" : i < 40 ? "u" : "d");
    assertThat(envelopes).extracting(envelope -> envelope.getString("op").getValue()).containsExactlyElementsOf(ops);
    assertThat(envelopes.subList(0, 30)).as("inserts have no before").allMatch(envelope -> envelope.isNull("before"));
    BsonDocument renamed = envelopes.get(30);
    assertThat(BsonDocument.parse(renamed.getString("before").getValue())).isEqualTo(BsonDocument.parse("{_id: 0, name: 'order 0'}"));
    assertThat(BsonDocument.parse(renamed.getString("after").getValue()).getString("name").getValue()).isEqualTo("renamed 0");
    BsonDocument deleted = envelopes.get(40);
    assertThat(deleted.isNull("after")).isTrue();
    assertThat(BsonDocument.parse(deleted.getString("before").getValue())).isEqualTo(BsonDocument.parse("{_id: 10, name: 'order 10'}"));
    assertThat(envelopes.get(44).getDocument("source").getString("collection").getValue()).isEqualTo("orders");
  }

  /** With show-expanded-events, a stream's relaxed-JSON lines hold the collection's DDL events too; the document format skips them. */
  @Test
  void expandedEventsAreWrittenWhenAsked(@TempDir Path dir) throws Exception {
    Path out = dir.resolve("ddl");
    run("""
        tidemark.streams.ddl {
          source { database = ddl_db, show-expanded-events = on, operation-types = [create, createIndexes, modify, insert] }
          sink { type = file, directory = "%s" }
        }
        """.formatted(out.toString().replace("\\", "\\\\")),
        () -> {
          await(client.getDatabase("ddl_db").createCollection("orders"));
          await(client.getDatabase("ddl_db").getCollection("orders").createIndex(new Document("customer", 1)));
          await(client.getDatabase("ddl_db").runCommand(new Document("collMod", "orders")
              .append("changeStreamPreAndPostImages", new Document("enabled", true))));
          await(client.getDatabase("ddl_db").getCollection("orders").insertOne(new Document("_id", 1)));
        },
        () -> lines(out).size() >= 4, () -> "4 events in " + out + ": " + lines(out));
    assertThat(lines(out).stream().map(BsonDocument::parse).map(event -> event.getString("operationType").getValue()))
        .containsExactly("create", "createIndexes", "modify", "insert");
    assertThat(BsonDocument.parse(lines(out).get(1)).getDocument("operationDescription").getArray("indexes")).hasSize(1);
  }

  @Test
  void stdoutSinkPrintsEveryInsertOfTheDeploymentAsRelaxedJson() throws Exception {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      run("""
          tidemark.streams.everything {
            source { operation-types = [insert], match = "{\\"ns.db\\": \\"stdout_db\\"}" }
            sink { type = stdout }
          }
          """,
          () -> workload("stdout_db"), () -> printed(captured).size() >= 36, () -> "36 events printed: " + printed(captured));
    } finally {
      System.setOut(original);
    }
    List<BsonDocument> events = printed(captured);
    assertThat(events).hasSize(36).allMatch(event -> event.getString("operationType").getValue().equals("insert"));
    assertThat(events).extracting(event -> event.getDocument("ns").getString("coll").getValue())
        .containsOnly("orders", "customers", "orders_tmp");
    assertThat(events.get(0).getDocument("fullDocument").getInt32("_id").getValue()).as("relaxed: a plain number").isZero();
  }

  /**
   * A stream over a quiet collection, while other collections of the deployment are written: its
   * checkpoint follows the oplog with heartbeats, so that it never falls off it for want of events.
   */
  @Test
  void aQuietStreamsCheckpointFollowsTheDeploymentsWritesWithHeartbeats() throws Exception {
    Config config = ConfigFactory.parseString("""
        tidemark.pipeline.heartbeat.interval = 200ms
        tidemark.streams.quiet { source { database = quiet_db, collection = idle }, sink { type = stdout } }
        """).withFallback(ConfigFactory.load()).resolve();
    ActorSystem<Void> quietSystem = ActorSystem.create(Behaviors.empty(), "service-quiet", config);
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    try (ServiceStreams service = ServiceStreams.create(quietSystem, ServiceStreams.check(config, getClass().getClassLoader()))) {
      PipelineControl control = service.pipeline("quiet", mongo.connectionString(), store, null).run(quietSystem);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      for (int i = 0; i < 20; i++) await(client.getDatabase("quiet_db").getCollection("busy").insertOne(new Document("_id", i)));
      org.bson.BsonTimestamp lastWrite = MongoConnector.first(client.getDatabase("admin").runCommand(new Document("ping", 1)))
          .get(30, TimeUnit.SECONDS).get("operationTime", org.bson.BsonTimestamp.class);
      Await.until(Duration.ofSeconds(30), () -> store.get("quiet").map(checkpoint -> checkpoint.clusterTime() != null
              && checkpoint.clusterTime().compareTo(lastWrite) >= 0).orElse(false),
          () -> "the quiet stream's checkpoint at or after the busy collection's last write " + lastWrite + ": " + store.get("quiet"));
      assertThat(store.get("quiet").orElseThrow().kind()).isEqualTo(io.tidemark.checkpoint.CheckpointKind.HEARTBEAT);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } finally {
      quietSystem.terminate();
      quietSystem.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static List<BsonDocument> printed(ByteArrayOutputStream captured) {
    return captured.toString(StandardCharsets.UTF_8).lines().filter(line -> line.startsWith("{\"_id\""))
        .map(BsonDocument::parse).toList();
  }

  @Test
  void jdbcSinkUpsertsIntoH2() throws Exception {
    String url = "jdbc:h2:mem:service_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";
    jdbcUpsert("h2_db", url, "sa");
  }

  @Test
  void jdbcSinkUpsertsIntoPostgres() throws Exception {
    Databases.requirePostgres();
    String schema = Databases.createSchema("service_sink");
    try {
      jdbcUpsert("pg_db", Databases.pgUrl(schema), Databases.PG_USER);
    } finally {
      Databases.dropSchema(schema);
    }
  }

  /** The service's upsert table on MariaDB: its id is VARCHAR(768), the longest primary key InnoDB takes in utf8mb4. */
  @Test
  void jdbcSinkUpsertsIntoMariaDb() throws Exception {
    Databases.requireMariaDb();
    String database = Databases.createMariaDbDatabase("service_sink");
    try {
      jdbcUpsert("maria_db", Databases.mariaDbUrl(database), Databases.MARIADB_USER, Databases.MARIADB_PASSWORD);
    } finally {
      Databases.dropMariaDbDatabase(database);
    }
  }

  /**
   * Declarative transforms shape what a sink writes: a filter keeps the orders' inserts and
   * updates (deletes and the customers are dropped), a rename and an include make each row
   * {@code {_id, title}}. The jdbc sink writes the transformed event, not the one the source read.
   */
  @Test
  void transformsShapeWhatTheJdbcSinkWrites() throws Exception {
    String url = "jdbc:h2:mem:transforms_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";
    run("""
        tidemark.streams.shaped {
          source { database = transform_db, full-document = updateLookup }
          format = document
          transforms = [
            { type = filter, include-namespaces = ["transform_db\\\\.orders"], operation-types = [insert, update] }
            { type = rename-fields, renames { name = title } }
            { type = include-fields, fields = [title] }
          ]
          sink { type = jdbc, url = "%s", user = sa, password = "", table = orders_shaped }
        }
        """.formatted(url),
        () -> workload("transform_db"),
        () -> rows(url, "sa", "SELECT COUNT(*) FROM orders_shaped WHERE document LIKE '%renamed 9%'") == 1,
        () -> "order 9 renamed in orders_shaped");
    assertThat(rows(url, "sa", "SELECT COUNT(*) FROM orders_shaped")).as("30 orders: their deletes filtered out").isEqualTo(30);
    try (Connection connection = DriverManager.getConnection(url, "sa", "");
        Statement select = connection.createStatement();
        ResultSet row = select.executeQuery("SELECT document FROM orders_shaped WHERE id = '{\"_id\": 3}'")) {
      assertThat(row.next()).isTrue();
      assertThat(BsonDocument.parse(row.getString(1))).isEqualTo(BsonDocument.parse("{_id: 3, title: 'renamed 3'}"));
    }
  }

  private void jdbcUpsert(String database, String url, String user) throws Exception {
    jdbcUpsert(database, url, user, user.equals("sa") ? "" : Databases.PG_PASSWORD);
  }

  private void jdbcUpsert(String database, String url, String user, String password) throws Exception {
    run("""
        tidemark.streams.orders-table {
          source { database = %s, collection = orders, full-document = updateLookup }
          format = document
          sink { type = jdbc, url = "%s", user = "%s", password = "%s", table = orders_copy }
        }
        """.formatted(database, url, user, password),
        () -> workload(database),
        () -> rows(url, user, password, "SELECT COUNT(*) FROM orders_copy") == 25
            && rows(url, user, password, "SELECT COUNT(*) FROM orders_copy WHERE id IN ('{\"_id\": 10}', '{\"_id\": 14}')") == 0
            && rows(url, user, password, "SELECT COUNT(*) FROM orders_copy WHERE document LIKE '%renamed 9%'") == 1,
        () -> "25 orders in orders_copy of " + url + ", 10..14 deleted, 9 renamed");
    assertThat(rows(url, user, password, "SELECT COUNT(*) FROM orders_copy")).isEqualTo(25);
    try (Connection connection = DriverManager.getConnection(url, user, password);
        Statement select = connection.createStatement();
        ResultSet row = select.executeQuery("SELECT document FROM orders_copy WHERE id = '{\"_id\": 3}'")) {
      assertThat(row.next()).isTrue();
      assertThat(BsonDocument.parse(row.getString(1)).getString("name").getValue()).isEqualTo("renamed 3");
    }
  }

  @Test
  void jdbcSinkAppendsOneRowPerEvent() throws Exception {
    String url = "jdbc:h2:mem:service_append_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";
    run("""
        tidemark.streams.orders-log {
          source { database = append_db, collection = orders }
          sink { type = jdbc, url = "%s", user = sa, table = orders_log, mode = append }
        }
        """.formatted(url),
        () -> workload("append_db"), () -> rows(url, "sa", "SELECT COUNT(*) FROM orders_log") >= 45, () -> "45 rows in orders_log");
    assertThat(rows(url, "sa", "SELECT COUNT(*) FROM orders_log")).isEqualTo(45);
    assertThat(rows(url, "sa", "SELECT COUNT(*) FROM orders_log WHERE operation = 'delete'")).isEqualTo(5);
  }

  private static long rows(String url, String user, String query) {
    return rows(url, user, user.equals("sa") ? "" : Databases.PG_PASSWORD, query);
  }

  private static long rows(String url, String user, String password, String query) {
    try (Connection connection = DriverManager.getConnection(url, user, password);
        Statement select = connection.createStatement();
        ResultSet row = select.executeQuery(query)) {
      return row.next() ? row.getLong(1) : 0;
    } catch (SQLException e) {
      return -1; // the table is not there yet
    }
  }
}
