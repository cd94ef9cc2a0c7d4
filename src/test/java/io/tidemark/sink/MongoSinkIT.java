package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.service.ServiceStreams;
import io.tidemark.testkit.FaultyMongo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The service's {@code mongodb} sink against the embedded server (a one-node replica set with
 * transactions): a materialized view that equals its source after crashes, each event applied once.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoSinkIT {
  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  private Config config(String streams) {
    return ConfigFactory.parseString(streams + "\n"
            + "tidemark.mongodb.uri = \"" + mongo.uri() + "\"\n"
            + "tidemark.pipeline.parallelism = 4\n"
            + "tidemark.pipeline.on-failure.restart-min-backoff = 50ms\n"
            + "tidemark.pipeline.on-failure.restart-max-backoff = 200ms\n")
        .withFallback(ConfigFactory.load()).resolve();
  }

  /** One node's run of the configured stream, until the test ends it. */
  private final class Run {
    final ActorSystem<Void> system;
    final ServiceStreams streams;
    final MongoSink sink;
    final PipelineControl control;

    Run(Config config, String name, CheckpointStore checkpoints) {
      system = ActorSystem.create(Behaviors.empty(), "mongo-sink-" + System.nanoTime(), config);
      streams = ServiceStreams.create(system, ServiceStreams.check(config, getClass().getClassLoader()));
      sink = (MongoSink) streams.sink(name);
      control = streams.pipeline(name, mongo.uri(), checkpoints, null).run(system);
    }

    void started() throws Exception {
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    /** Abrupt: no drain, no checkpoint flush; then the sink waits for its writes under way and closes. */
    void crash() throws Exception {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
      streams.close();
    }

    /** Drains the stream, then closes as a crash does. */
    void stop() throws Exception {
      try {
        control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      } finally {
        crash();
      }
    }
  }

  private static final int ROUNDS = 10;
  private static final int PER_ROUND = 30;
  /** Per round: 30 inserts, 60 $set/$inc updates, 30 replacements, 10 $unset updates, 10 deletes. */
  private static final int EVENTS_PER_ROUND = PER_ROUND * 4 + PER_ROUND / 3 * 2;
  private static final int EVENTS = ROUNDS * EVENTS_PER_ROUND;

  private void writeOrders(String database, int rounds) {
    var orders = mongo.database(database).getCollection("orders");
    for (int round = 0; round < rounds; round++) {
      int base = round * PER_ROUND;
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < PER_ROUND; i++) batch.add(new Document("_id", base + i).append("version", 0).append("note", "new"));
      orders.insertMany(batch);
      for (int pass = 1; pass <= 2; pass++) {
        for (int i = 0; i < PER_ROUND; i++) {
          orders.updateOne(Filters.eq("_id", base + i), Updates.combine(Updates.set("version", pass), Updates.inc("count", 1)));
        }
      }
      for (int i = 0; i < PER_ROUND; i++) {
        orders.replaceOne(Filters.eq("_id", base + i), new Document("_id", base + i).append("version", 3).append("note", "replaced"));
      }
      for (int i = 1; i < PER_ROUND; i += 3) orders.updateOne(Filters.eq("_id", base + i), Updates.unset("note"));
      for (int i = 0; i < PER_ROUND; i += 3) orders.deleteOne(Filters.eq("_id", base + i));
    }
  }

  private Map<Object, Document> documents(String database, String collection) {
    Map<Object, Document> documents = new TreeMap<>();
    for (Document document : mongo.database(database).getCollection(collection).find()) documents.put(document.get("_id"), document);
    return documents;
  }

  /**
   * A view in the source's own deployment ({@code shop_view.orders}, without update lookups: updates
   * are applied from their updateDescription), the node crashed at five random points (no drain, no
   * checkpoint flush, so each restart replays events the sink has written): the view equals the
   * collection, the sinks applied exactly as many events as the workload made, and replayed ones
   * met the sink's positions and were skipped.
   */
  @Test
  void aViewInTheSameDeploymentEqualsItsSourceAfterFiveCrashesWithEachEventAppliedOnce() throws Exception {
    long seed = System.nanoTime();
    Random random = new Random(seed);
    Config config = config("""
        tidemark.streams.orders-view {
          source { database = crash_shop, collection = orders }
          sink { type = mongodb, database = "{db}_view" }
        }
        """);
    CheckpointStore checkpoints = InMemoryCheckpointStore.create();
    long applied = 0;
    long skipped = 0;
    CompletableFuture<Void> writer = null;
    for (int crash = 0; crash < 5; crash++) {
      Run run = new Run(config, "orders-view", checkpoints);
      if (writer == null) {
        run.started();
        writer = CompletableFuture.runAsync(() -> writeOrders("crash_shop", ROUNDS));
      }
      long before = applied;
      long stopAt = Math.min(applied + 100 + random.nextInt(200), EVENTS);
      Await.until(Duration.ofSeconds(60), () -> before + run.sink.applied() >= stopAt,
          () -> "the sink applied " + stopAt + " events (seed " + seed + ")");
      assertThat(SharedMongoClients.get(run.system).openDeployments())
          .as("the sink writes through the clients the stream reads with: one deployment, one set of clients").isEqualTo(1);
      run.crash();
      applied += run.sink.applied();
      skipped += run.sink.skipped();
    }
    writer.get(120, TimeUnit.SECONDS);
    Map<Object, Document> source = documents("crash_shop", "orders");
    Run last = new Run(config, "orders-view", checkpoints);
    try {
      long before = applied;
      Await.until(Duration.ofSeconds(120), () -> before + last.sink.applied() >= EVENTS && documents("crash_shop_view", "orders").equals(source),
          () -> EVENTS + " events applied and the view equal to the collection (seed " + seed + "), applied "
              + (before + last.sink.applied()));
    } finally {
      last.stop();
    }
    applied += last.sink.applied();
    skipped += last.sink.skipped();
    assertThat(documents("crash_shop_view", "orders")).as("seed %d", seed).isEqualTo(source).hasSize(ROUNDS * PER_ROUND * 2 / 3);
    assertThat(applied).as("each event applied once (seed %d)", seed).isEqualTo(EVENTS);
    assertThat(skipped).as("replayed events met the sink (seed %d)", seed).isPositive();
    System.out.printf("mongodb sink: %d events applied once after 5 crashes; %d replayed events skipped (seed %d)%n", EVENTS, skipped, seed);
  }

  /** Per collection: 40 inserts, 40 $set/$inc updates, 13 replacements, 14 deletes, with ids of its own ({@code base} up). */
  private static final int ROUTED_PER_COLLECTION = 40 + 40 + 13 + 14;

  private void writeRouted(String collection, int base) {
    var target = mongo.database("route_shop").getCollection(collection);
    List<Document> batch = new ArrayList<>();
    for (int i = 0; i < 40; i++) batch.add(new Document("_id", base + i).append("from", collection).append("version", 0));
    target.insertMany(batch);
    for (int i = 0; i < 40; i++) target.updateOne(Filters.eq("_id", base + i), Updates.combine(Updates.set("version", 1), Updates.inc("n", 1)));
    for (int i = 1; i < 40; i += 3) target.replaceOne(Filters.eq("_id", base + i), new Document("_id", base + i).append("from", collection).append("replaced", true));
    for (int i = 0; i < 40; i += 3) target.deleteOne(Filters.eq("_id", base + i));
  }

  /**
   * A route transform with the mongodb sink ({@code collection = "{route}"}): {@code orders_1} and
   * {@code orders_2} (sharded by hand, ids apart) are routed into one collection, {@code customers}
   * and {@code carts} each into their own by a group of the regex. The node crashes once half way
   * (no drain, no checkpoint flush); after the restart each target holds exactly its sources'
   * documents, nothing else is written, and each event was applied once.
   */
  @Test
  void aRouteTransformWritesTwoCollectionsIntoOneTargetAndTwoIntoTheirOwn() throws Exception {
    Config config = config("""
        tidemark.streams.routed {
          source { database = route_shop }
          transforms = [{ type = route, routes = [
            { namespaces = "route_shop\\\\.orders_\\\\d+", to = orders }
            { namespaces = "route_shop\\\\.(.*)", to = "$1" }
          ] }]
          sink { type = mongodb, database = route_view, collection = "{route}" }
        }
        """);
    List<String> sources = List.of("orders_1", "orders_2", "customers", "carts");
    int events = sources.size() * ROUTED_PER_COLLECTION;
    CheckpointStore checkpoints = InMemoryCheckpointStore.create();
    Run first = new Run(config, "routed", checkpoints);
    first.started();
    CompletableFuture<Void> writer = CompletableFuture.runAsync(() -> {
      for (int i = 0; i < sources.size(); i++) writeRouted(sources.get(i), 1000 * i);
    });
    Await.until(Duration.ofSeconds(60), () -> first.sink.applied() >= events / 2, () -> "half the events applied before the crash");
    first.crash();
    writer.get(60, TimeUnit.SECONDS);

    Map<Object, Document> orders = new TreeMap<>(documents("route_shop", "orders_1"));
    orders.putAll(documents("route_shop", "orders_2"));
    Map<String, Map<Object, Document>> expected = Map.of(
        "orders", orders, "customers", documents("route_shop", "customers"), "carts", documents("route_shop", "carts"));
    Run second = new Run(config, "routed", checkpoints);
    try {
      Await.until(Duration.ofSeconds(60), () -> expected.keySet().stream().allMatch(name -> documents("route_view", name).equals(expected.get(name))),
          () -> "route_view.orders the union of orders_1 and orders_2, customers and carts their sources'");
    } finally {
      second.stop();
    }
    for (String name : expected.keySet()) assertThat(documents("route_view", name)).as(name).isEqualTo(expected.get(name));
    assertThat(orders).hasSize(2 * 26);
    assertThat(mongo.database("route_view").listCollectionNames().into(new ArrayList<>())).containsExactlyInAnyOrder("orders", "customers", "carts");
    assertThat(first.sink.applied() + second.sink.applied()).as("each event applied once").isEqualTo(events);
    System.out.printf("route transform: %d events of 4 collections into 3 targets, %d before the crash, %d replayed and skipped%n",
        events, first.sink.applied(), second.sink.skipped());
  }

  /** Another deployment, the source's names ({db}.{collection}), update lookups: the copy equals the source. */
  @Test
  void aViewInAnotherDeploymentKeepsTheSourcesNames() throws Exception {
    try (FaultyMongo replica = FaultyMongo.embedded(EmbeddedSettings.defaults())) {
      Config config = config("""
          tidemark.streams.orders-copy {
            source { database = copy_shop, collection = orders, full-document = updateLookup }
            sink { type = mongodb, uri = "%s" }
          }
          """.formatted(replica.uri()));
      Run run = new Run(config, "orders-copy", InMemoryCheckpointStore.create());
      try {
        run.started();
        writeOrders("copy_shop", 3);
        Map<Object, Document> source = documents("copy_shop", "orders");
        Await.until(Duration.ofSeconds(60), () -> copy(replica).equals(source), () -> "the other deployment's copy_shop.orders equal to the source");
        assertThat(SharedMongoClients.get(run.system).openDeployments())
            .as("the source's deployment and the target's, each with the node's one set of clients").isEqualTo(2);
      } finally {
        run.stop();
      }
      assertThat(run.sink.applied()).isEqualTo(3 * EVENTS_PER_ROUND);
      assertThat(replica.database("tidemark").getCollection(MongoTransactionalSink.POSITIONS).countDocuments())
          .as("the positions kept on the target").isEqualTo(3 * PER_ROUND);
    }
  }

  private static Map<Object, Document> copy(FaultyMongo replica) {
    Map<Object, Document> documents = new TreeMap<>();
    for (Document document : replica.database("copy_shop").getCollection("orders").find()) documents.put(document.get("_id"), document);
    return documents;
  }

  /**
   * On the source's deployment, a stream that reads what the sink writes (a whole database, the
   * view beside the source) stops at the view's first event instead of copying its own writes forever.
   */
  @Test
  void aStreamThatReadsTheViewItWritesStopsNamingIt() throws Exception {
    Config config = config("""
        tidemark.streams.loop {
          source { database = loop_shop }
          sink { type = mongodb, collection = "{collection}_view" }
        }
        tidemark.pipeline.on-failure.policy = stop
        """);
    Run run = new Run(config, "loop", InMemoryCheckpointStore.create());
    try {
      run.started();
      mongo.database("loop_shop").getCollection("orders").insertOne(new Document("_id", 1));
      assertThat(Await.failureOf(run.control.completion()))
          .hasMessageContaining("the mongodb sink writes into loop_shop.orders_view on the source's deployment, and the stream reads it")
          .hasMessageContaining("source.exclude-namespaces");
      assertThat(mongo.database("loop_shop").getCollection("orders_view").countDocuments()).isEqualTo(1);
      assertThat(mongo.database("loop_shop").listCollectionNames().into(new ArrayList<>())).doesNotContain("orders_view_view");
    } finally {
      run.crash();
    }
  }
}
