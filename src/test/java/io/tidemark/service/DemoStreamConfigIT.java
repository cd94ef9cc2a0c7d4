package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The demo is a stream configuration (issue 14): {@code conf/demo.conf} declares the demo's stream,
 * whose sink ({@code demo-view}) keeps the orders' view and ledger, and {@code tidemark run} runs it
 * like any other, with the service's checkpoint-store choice and progress lines; {@code demo} runs
 * the same stream through the service's node, its {@code tidemark.demo.*} keys mapped onto it.
 */
class DemoStreamConfigIT {
  private static final Path DEMO_CONF = Path.of("conf", "demo.conf").toAbsolutePath();

  private static Process start(Path dir, Path log, List<String> jvm, List<String> env, String... args) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    List<String> command = TidemarkProcess.jvm("-Xmx384m");
    command.addAll(jvm);
    command.addAll(List.of("-jar", TidemarkProcess.JAR.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    ProcessBuilder builder = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(log.toFile());
    for (int i = 0; i + 1 < env.size(); i += 2) builder.environment().put(env.get(i), env.get(i + 1));
    return builder.start();
  }

  @Test
  void runOnTheDemoConfigKeepsTheViewWithTheChosenCheckpointStoreAndPrintsProgress(@TempDir Path dir) throws Exception {
    int management = Clusters.freePort();
    Path log = dir.resolve("run.log");
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Process run = start(dir, log,
          List.of("-Dtidemark.service.checkpoint-store=mongodb", "-Dtidemark.service.progress-interval=1s"),
          List.of("TIDEMARK_MONGODB_URI", mongo.connectionString(), "TIDEMARK_DATA_DIR", dir.resolve("data").toString()),
          "run", "--config", DEMO_CONF.toString(), "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(90), () -> TidemarkProcess.started(management).containsKey("orders-view") || !run.isAlive(),
            () -> "the demo's stream running; log:\n" + TidemarkProcess.read(log));
        assertThat(run.isAlive()).as(TidemarkProcess.read(log)).isTrue();

        MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
        for (int i = 0; i < 50; i++) orders.insertOne(new Document("_id", i).append("status", "new").append("version", 0));
        for (int i = 0; i < 10; i++) orders.updateOne(Filters.eq("_id", i), Updates.combine(Updates.set("status", "paid"), Updates.set("version", 1)));
        for (int i = 40; i < 45; i++) orders.deleteOne(Filters.eq("_id", i));

        MongoCollection<Document> view = client.getDatabase("shop").getCollection("orders_view");
        MongoCollection<Document> ledger = client.getDatabase("shop").getCollection("orders_ledger");
        Await.until(Duration.ofSeconds(60), () -> ledger.countDocuments() == 65,
            () -> "65 events in the ledger, got " + ledger.countDocuments() + "; log:\n" + TidemarkProcess.read(log));
        assertThat(view.countDocuments()).isEqualTo(45);
        assertThat(view.find(Filters.eq("_id", 3)).first()).containsEntry("status", "paid").containsEntry("version", 1);

        MongoCollection<Document> checkpoints = client.getDatabase("tidemark").getCollection("tidemark_checkpoints");
        Await.until(Duration.ofSeconds(30), () -> checkpoints.find(Filters.eq("_id", "orders-view")).first() != null,
            () -> "the checkpoint in MongoDB (tidemark.service.checkpoint-store = mongodb); log:\n" + TidemarkProcess.read(log));
        Await.until(Duration.ofSeconds(30), () -> TidemarkProcess.read(log).contains("orders-view: 65 events processed"),
            () -> "the stream's progress line; log:\n" + TidemarkProcess.read(log));
        assertThat(Files.exists(dir.resolve("data").resolve("checkpoints.mv.db"))).as("no journal opened").isFalse();
      } finally {
        run.destroy();
        if (!run.waitFor(60, TimeUnit.SECONDS)) run.destroyForcibly();
      }
      assertThat(TidemarkProcess.read(log)).contains("stream 'orders-view' stopped; last checkpoint: resumeAfter");
    }
  }

  @Test
  void theDemoRunsItsStreamThroughTheServiceWithItsOwnKeys(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("demo.log");
    Path conf = Files.writeString(dir.resolve("demo-test.conf"),
        "tidemark.demo { checkpoint-store = mongodb, progress-interval = 1s, collection = purchases, stream = purchases-view }\n");
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Process demo = start(dir, log, List.of(), List.of(), Clusters.withFreeManagementPort("demo", "--mongodb", mongo.connectionString(),
          "--data", dir.resolve("data").toString(), "--config", conf.toString(), "--events", "40", "--rate", "100"));
      try {
        assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as("the demo finished; log:\n%s", TidemarkProcess.read(log)).isTrue();
      } finally {
        demo.destroyForcibly();
      }
      String output = TidemarkProcess.read(log);
      assertThat(demo.exitValue()).as(output).isZero();
      assertThat(output).contains("stream 'purchases-view': shop.purchases → demo-view sink")
          .contains("service node up: 1 stream(s) [purchases-view]")
          .contains("purchases-view: ").contains(" events processed").contains("workload 40 writes")
          .contains("all 40 writes processed; stopping");
      assertThat(client.getDatabase("shop").getCollection("purchases_view").countDocuments()).isPositive();
      assertThat(client.getDatabase("tidemark").getCollection("tidemark_checkpoints").find(Filters.eq("_id", "purchases-view")).first())
          .as("tidemark.demo.checkpoint-store = mongodb").isNotNull();
    }
  }

  /**
   * {@code checkpoint-store = sql}: the demo keeps its checkpoint as a plain row in the data
   * directory's H2 file (the journal's database), and {@code checkpoints show --sql --data} reads it
   * there once the demo stopped: at a position, let go of.
   */
  @Test
  void theDemoKeepsItsCheckpointInThePlainSqlStore(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("demo.log");
    Path conf = Files.writeString(dir.resolve("demo-sql.conf"),
        "tidemark.demo { checkpoint-store = sql, progress-interval = 1s, collection = purchases, stream = purchases-view }\n");
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults())) {
      Process demo = start(dir, log, List.of(), List.of(), Clusters.withFreeManagementPort("demo", "--mongodb", mongo.connectionString(),
          "--data", dir.resolve("data").toString(), "--config", conf.toString(), "--events", "40", "--rate", "100"));
      try {
        assertThat(demo.waitFor(120, TimeUnit.SECONDS)).as("the demo finished; log:\n%s", TidemarkProcess.read(log)).isTrue();
      } finally {
        demo.destroyForcibly();
      }
      String output = TidemarkProcess.read(log);
      assertThat(demo.exitValue()).as(output).isZero();
      assertThat(output).contains("all 40 writes processed; stopping").doesNotContain("password=");
    }
    java.io.StringWriter out = new java.io.StringWriter();
    java.io.StringWriter err = new java.io.StringWriter();
    int code = io.tidemark.cli.Main.execute(new String[] {"checkpoints", "show", "purchases-view", "--sql", "--data", dir.resolve("data").toString()},
        new java.io.PrintWriter(out, true), new java.io.PrintWriter(err, true));
    assertThat(code).as(err.toString()).isZero();
    assertThat(out.toString()).contains("checkpoint:    resumeAfter").contains("held by:       nobody");
  }
}
