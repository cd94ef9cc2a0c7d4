package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.ChangeWorkload;
import io.tidemark.Clusters;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The effectively-once sinks of {@code tidemark run}, with the node killed by SIGKILL in the middle:
 * a {@code jdbc} sink appending one row per event (into H2 over TCP) and a {@code mongodb} sink
 * keeping a copy of the collection, both fed by a workload of inserts and updates that goes on
 * through the kill. After a restart on the same checkpoints, the ledger holds every change event of
 * the collection exactly once (no resume token twice, none missing), and the copy equals the
 * collection.
 */
class ServiceKillIT {
  private static final int INSERTS = 600;

  @Test
  void theEffectivelyOnceSinksWriteEveryEventOnceAcrossAKillMinus9(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    Server h2 = Server.createTcpServer("-tcpPort", String.valueOf(Clusters.freePort()), "-baseDir", dir.toString(), "-ifNotExists").start();
    String ledgerUrl = "jdbc:h2:tcp://127.0.0.1:" + h2.getPort() + "/sink";
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline { window-size = 100, checkpoint.every-events = 50, parallelism = 4 }
            streams.orders-ledger {
              source { database = kill_db, collection = orders }
              sink { type = jdbc, url = "%s", user = sa, password = "", table = orders_ledger, mode = append }
            }
            streams.orders-copy {
              source { database = kill_db, collection = orders, full-document = updateLookup }
              sink { type = mongodb, database = copy_db, collection = "{collection}" }
            }
          }
          akka-persistence-jdbc.shared-databases.slick {
            profile = "slick.jdbc.H2Profile$"
            db { url = "jdbc:h2:tcp://127.0.0.1:%d/checkpoints", driver = "org.h2.Driver" }
          }
          """.formatted(mongo.connectionString(), ledgerUrl, h2.getPort()));
      MongoCollection<Document> orders = client.getDatabase("kill_db").getCollection("orders");
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);

      int management = Clusters.freePort();
      Process first = TidemarkProcess.start(dir.resolve("first.log"), "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      CompletableFuture<Void> workload;
      int rowsAtKill;
      try {
        Await.until(Duration.ofSeconds(90), () -> TidemarkProcess.started(management).keySet().containsAll(List.of("orders-ledger", "orders-copy")) || !first.isAlive(),
            () -> "both streams running; log:\n" + TidemarkProcess.read(dir.resolve("first.log")));
        workload = CompletableFuture.runAsync(() -> ChangeWorkload.insertsAndUpdates(orders, INSERTS, 29));
        Await.until(Duration.ofSeconds(90), () -> rows(ledgerUrl) >= 150 || !first.isAlive(),
            () -> "150 ledger rows before the kill; log:\n" + TidemarkProcess.read(dir.resolve("first.log")));
        assertThat(first.isAlive()).as("the first run; log:\n%s", TidemarkProcess.read(dir.resolve("first.log"))).isTrue();
      } finally {
        first.destroyForcibly(); // SIGKILL: no drain, no last checkpoint
        first.waitFor(30, TimeUnit.SECONDS);
      }
      rowsAtKill = (int) rows(ledgerUrl);
      workload.get(180, TimeUnit.SECONDS);
      Set<String> expected = ChangeWorkload.tokensSince(orders, before, ChangeWorkload.events(INSERTS));

      Process second = TidemarkProcess.start(dir.resolve("second.log"), "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(180), () -> rows(ledgerUrl) >= expected.size() || !second.isAlive(),
            () -> expected.size() + " ledger rows after the restart: " + rows(ledgerUrl) + "; missing " + missing(ledgerUrl, expected)
                + "; status " + TidemarkProcess.get(management, "/tidemark/streams") + "; log:\n" + TidemarkProcess.read(dir.resolve("second.log")));
        Await.until(Duration.ofSeconds(180), () -> documents(client, "copy_db").equals(documents(client, "kill_db")) || !second.isAlive(),
            () -> "the copy equal to the collection: " + difference(documents(client, "copy_db"), documents(client, "kill_db"))
                + "; status " + TidemarkProcess.get(management, "/tidemark/streams") + "; log:\n" + TidemarkProcess.read(dir.resolve("second.log")));
        assertThat(second.isAlive()).as("the second run; log:\n%s", TidemarkProcess.read(dir.resolve("second.log"))).isTrue();
      } finally {
        second.destroy();
        if (!second.waitFor(60, TimeUnit.SECONDS)) second.destroyForcibly();
      }

      List<String> tokens = ledgerTokens(ledgerUrl);
      Map<String, Integer> times = new HashMap<>();
      tokens.forEach(token -> times.merge(token, 1, Integer::sum));
      System.out.printf("ServiceKillIT: %d change events, %d ledger rows (%d at the kill), %d written twice; copy of %d documents%n",
          expected.size(), tokens.size(), rowsAtKill, tokens.size() - times.size(), documents(client, "copy_db").size());
      assertThat(times.keySet()).as("every change event of the collection in the ledger, nothing else").isEqualTo(expected);
      assertThat(times.values()).as("each exactly once, across the kill").allMatch(count -> count == 1);
      assertThat(documents(client, "copy_db")).as("the copy equals the collection").isEqualTo(documents(client, "kill_db"));
    } finally {
      h2.stop();
    }
  }

  private static Map<Object, Document> documents(MongoClient client, String database) {
    Map<Object, Document> documents = new HashMap<>();
    for (Document document : client.getDatabase(database).getCollection("orders").find()) documents.put(document.get("_id"), document);
    return documents;
  }

  private static long rows(String url) {
    try (Connection connection = DriverManager.getConnection(url, "sa", "");
        Statement select = connection.createStatement();
        ResultSet count = select.executeQuery("SELECT COUNT(*) FROM orders_ledger")) {
      return count.next() ? count.getLong(1) : 0;
    } catch (SQLException notYet) {
      return 0; // the table is made by the sink when it first writes
    }
  }

  /** The resume tokens' {@code _data} of the ledger's rows. */
  private static List<String> ledgerTokens(String url) throws SQLException {
    List<String> tokens = new ArrayList<>();
    try (Connection connection = DriverManager.getConnection(url, "sa", "");
        Statement select = connection.createStatement();
        ResultSet rows = select.executeQuery("SELECT resume_token FROM orders_ledger")) {
      while (rows.next()) tokens.add(org.bson.BsonDocument.parse(rows.getString(1)).getString("_data").getValue());
    }
    return tokens;
  }

  private static String difference(Map<Object, Document> copy, Map<Object, Document> source) {
    List<String> differences = new ArrayList<>();
    for (Map.Entry<Object, Document> entry : source.entrySet()) {
      Document copied = copy.get(entry.getKey());
      if (!entry.getValue().equals(copied)) differences.add(entry.getValue().toJson() + " copied as " + (copied == null ? "nothing" : copied.toJson()));
    }
    for (Object id : copy.keySet()) if (!source.containsKey(id)) differences.add("extra " + id);
    return differences.size() + " differ " + differences.stream().limit(8).toList();
  }

  private static String missing(String url, Set<String> expected) {
    try {
      Set<String> missing = new java.util.TreeSet<>(expected);
      ledgerTokens(url).forEach(missing::remove);
      return missing.size() + " " + missing.stream().limit(10).toList();
    } catch (SQLException e) {
      return e.toString();
    }
  }

}
