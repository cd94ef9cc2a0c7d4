package io.tidemark.management;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.management.javadsl.AkkaManagement;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.service.ServiceConfig;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code /ready} and {@code /alive} as the runnable service configures them (conf/management.conf):
 * a node that is not ready answers 503 Service Unavailable, which load balancers and Kubernetes
 * read as "not ready", not 500, which reads as a broken server.
 */
class HealthRoutesIT {

  private static HttpResponse<String> get(int port, String path) throws Exception {
    return HttpClient.newHttpClient().send(
        HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(10)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  @Test
  void readyIs503UntilTheNodeIsUpThen200() throws Exception {
    int port = Clusters.freePort();
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark", ServiceConfig.load(null, Map.of(
        "akka.management.http.port", port,
        "akka.remote.artery.canonical.port", 0,
        "akka.cluster.seed-nodes", List.of())));
    try {
      AkkaManagement.get(system.classicSystem()).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
      HttpResponse<String> notReady = get(port, "/ready");
      assertThat(notReady.statusCode()).as(notReady.body()).isEqualTo(503);
      assertThat(notReady.body()).startsWith("Not Healthy");
      assertThat(get(port, "/alive").statusCode()).isEqualTo(200);

      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      Await.until(Duration.ofSeconds(30), () -> {
        try {
          return get(port, "/ready").statusCode() == 200;
        } catch (Exception e) {
          return false;
        }
      }, () -> "/ready 200 once the node is Up");
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
