package io.tidemark.management;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Leave;
import akka.management.javadsl.AkkaManagement;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.cli.Main;
import io.tidemark.cluster.NodeStreams;
import io.tidemark.cluster.StreamSingleton;
import io.tidemark.connection.MongoConnector;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.pipeline.RunningPipelines;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * Three nodes in one JVM: A and B serve the management endpoints and are candidates for the stream
 * {@code orders} and {@code broken} (cluster singletons, so on A, the oldest; {@code broken} stops
 * for good at once); C joined last and serves nothing. B, a standby, answers for
 * the whole cluster: the holder of each stream, its state and figures, and C as not answering; once
 * A leaves, B shows itself as the new holder.
 */
class ClusterStatusIT {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void aStandbyNodeAnswersForEveryStreamOfTheCluster() throws Exception {
    int seedPort = Clusters.freePort();
    List<ActorSystem<Void>> nodes = new ArrayList<>();
    Map<ActorSystem<Void>, Integer> management = new java.util.IdentityHashMap<>();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      try {
        run(nodes, management, client, seedPort);
      } finally {
        Clusters.stopAll(nodes); // before the server closes
      }
    }
  }

  private void run(List<ActorSystem<Void>> nodes, Map<ActorSystem<Void>, Integer> management, MongoClient client, int seedPort)
      throws Exception {
    ActorSystem<Void> a = start(seedPort, seedPort, management);
    ActorSystem<Void> b = start(Clusters.freePort(), seedPort, management);
    nodes.addAll(List.of(a, b));
    // B joins before C: after A leaves, B is the oldest, where the singleton goes.
    Await.until(Duration.ofSeconds(30), () -> Clusters.upMembers(a) == 2 && Clusters.upMembers(b) == 2, () -> "A and B up");
    ActorSystem<Void> c = start(Clusters.freePort(), seedPort, null);
    nodes.add(c);
    Await.until(Duration.ofSeconds(30), () -> nodes.stream().allMatch(node -> Clusters.upMembers(node) == 3), () -> "three nodes up");

    for (ActorSystem<Void> node : List.of(a, b)) {
      StreamSingleton.init(node,
          Pipeline.named("orders")
              .mongoClient(client)
              .collection("shop", "orders")
              .checkpoints(InMemoryCheckpointStore.create())
              .mapAsync(event -> CompletableFuture.completedFuture(Done.getInstance())),
          error -> { });
      // Nothing to watch: refused when it starts, a failure a person must fix; it stays stopped.
      StreamSingleton.init(node, Pipeline.named("broken").mongoUri("mongodb://127.0.0.1:9/").checkpoints(InMemoryCheckpointStore.create()),
          error -> { });
      AkkaManagement.get(node.classicSystem()).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    PipelineControl orders = await(a, Duration.ofSeconds(60));
    var collection = client.getDatabase("shop").getCollection("orders");
    for (int id = 0; id < 3; id++) MongoConnector.first(collection.insertOne(new Document("_id", id))).get();
    Await.until(Duration.ofSeconds(30), () -> orders.stats().window().completed() == 3 && orders.stats().window().lastSaved() != null
            && orders.stats().oplog() != null && orders.stats().oplog().headroomSeconds() != null,
        () -> "3 events processed and saved on A, and an oplog sample");
    Await.until(Duration.ofSeconds(30), () -> NodeStreams.get(a).stoppedForGood().containsKey("broken"), () -> "broken stopped for good on A");

    String addressA = a.address().toString();
    String addressB = b.address().toString();
    String addressC = c.address().toString();
    // The receptionist spreads A's reporter to B by gossip: wait until B hears A.
    Await.until(Duration.ofSeconds(30), () -> answered(clusterStreams(management.get(b)), addressA), () -> "A answers B");
    JsonNode view = clusterStreams(management.get(b));

    assertThat(view.path("node").asText()).isEqualTo(addressB);
    JsonNode ordersView = stream(view, "orders");
    assertThat(ordersView.path("node").asText()).isEqualTo(addressA);
    assertThat(ordersView.path("state").asText()).isEqualTo("running");
    assertThat(ordersView.path("eventsProcessed").asLong()).isEqualTo(3);
    assertThat(ordersView.path("lagSeconds").isNumber()).as("lag: %s", ordersView).isTrue();
    assertThat(ordersView.path("headroomSeconds").isNumber()).as("headroom: %s", ordersView).isTrue();
    assertThat(ordersView.path("checkpointAgeSeconds").isNumber()).as("checkpoint age: %s", ordersView).isTrue();
    JsonNode broken = stream(view, "broken");
    assertThat(broken.path("state").asText()).isEqualTo("stopped");
    assertThat(broken.path("node").asText()).isEqualTo(addressA);
    assertThat(broken.path("failure").asText()).isNotBlank();
    assertThat(node(view, addressA).path("holds").toString()).isEqualTo("[\"orders\"]");
    assertThat(node(view, addressB).path("answered").asBoolean()).isTrue();
    assertThat(node(view, addressB).path("holds").isEmpty()).as("B stands by").isTrue();
    assertThat(node(view, addressC).path("answered").asBoolean()).isFalse();
    assertThat(node(view, addressC).path("noAnswer").asText()).startsWith("no status reporter registered");

    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"status", "--management", "127.0.0.1:" + management.get(b)}, new PrintWriter(out, true),
        new PrintWriter(err, true));
    String printed = out.toString();
    assertThat(code).as("a stream stopped for good and a node that did not answer: %s%s", printed, err).isEqualTo(Main.PROBLEM_FOUND);
    assertThat(printed).startsWith("node " + addressB + " (3 nodes in the cluster, 2 answered)");
    assertThat(printed.lines().filter(line -> line.startsWith("orders ")).findFirst().orElse(""))
        .contains(hostPort(addressA)).contains("running");
    assertThat(printed).contains("standing by (running no stream): " + hostPort(addressB))
        .contains(hostPort(addressC) + " did not answer: no status reporter registered")
        .contains("broken stopped on " + hostPort(addressA) + ": ");

    Cluster.get(a).manager().tell(Leave.create(a.address()));
    a.getWhenTerminated().toCompletableFuture().get(60, TimeUnit.SECONDS);
    Await.until(Duration.ofSeconds(60), () -> {
      JsonNode after = clusterStreams(management.get(b));
      return addressB.equals(stream(after, "orders").path("node").asText()) && "running".equals(stream(after, "orders").path("state").asText())
          && after.path("nodes").size() == 2;
    }, () -> "B reports itself as the holder of orders, and A is gone: " + clusterStreams(management.get(b)));
    JsonNode after = clusterStreams(management.get(b));
    assertThat(after.path("nodes").findValuesAsText("node")).containsExactlyInAnyOrder(addressB, addressC);
    assertThat(node(after, addressB).path("holds").toString()).contains("\"orders\"");
  }

  /** A node joining the seed; with {@code management} it serves the status routes on a free port. */
  private static ActorSystem<Void> start(int port, int seedPort, Map<ActorSystem<Void>, Integer> management) {
    int http = Clusters.freePort();
    Config extra = ConfigFactory.parseString(String.join("\n",
        "akka.management.http.hostname = 127.0.0.1",
        "akka.management.http.port = " + http,
        "akka.management.http.routes.tidemark-status = io.tidemark.management.StatusRoutes",
        "tidemark.ops.status-timeout = 2s",
        "tidemark.oplog.interval = 300ms",
        "akka.coordinated-shutdown.run-by-actor-system-terminate = on"));
    ActorSystem<Void> node = ActorSystem.create(Behaviors.empty(), "status-it", Clusters.node("status-it", port, seedPort, extra));
    if (management != null) management.put(node, http);
    return node;
  }

  private static PipelineControl await(ActorSystem<Void> node, Duration timeout) {
    Await.until(timeout, () -> RunningPipelines.get(node).running("orders").map(control -> control.stats().startedFrom() != null).orElse(false),
        () -> "orders started on " + node.address());
    return RunningPipelines.get(node).running("orders").orElseThrow();
  }

  private static JsonNode clusterStreams(int port) {
    try {
      HttpResponse<String> response = HttpClient.newHttpClient().send(
          HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/tidemark/cluster/streams")).timeout(Duration.ofSeconds(10)).GET().build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
      assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/json");
      return JSON.readTree(response.body());
    } catch (Exception e) {
      throw new AssertionError("GET /tidemark/cluster/streams on port " + port, e);
    }
  }

  private static boolean answered(JsonNode view, String address) {
    return find(view.path("nodes"), "node", address).map(node -> node.path("answered").asBoolean()).orElse(false);
  }

  private static JsonNode stream(JsonNode view, String name) {
    return find(view.path("streams"), "stream", name).orElseThrow(() -> new AssertionError("no stream " + name + " in " + view));
  }

  private static JsonNode node(JsonNode view, String address) {
    return find(view.path("nodes"), "node", address).orElseThrow(() -> new AssertionError("no node " + address + " in " + view));
  }

  private static Optional<JsonNode> find(JsonNode array, String key, String value) {
    for (JsonNode element : array) if (value.equals(element.path(key).asText())) return Optional.of(element);
    return Optional.empty();
  }

  private static String hostPort(String address) {
    return address.substring(address.indexOf('@') + 1);
  }
}
