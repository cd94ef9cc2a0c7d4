package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.management.javadsl.AkkaManagement;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.Clusters;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code tidemark.cluster.bootstrap = on}: two nodes with no seed nodes find each other's management
 * endpoints through Akka Discovery (here its config method standing in for the Kubernetes API) and
 * form one cluster through Akka Cluster Bootstrap; bootstrap and seed nodes together are refused.
 */
class ClusterBootstrapIT {

  @Test
  void twoNodesWithoutSeedNodesFormOneClusterThroughBootstrap() throws Exception {
    int[] management = {Clusters.freePort(), Clusters.freePort()};
    String endpoints = "[{host = \"127.0.0.1\", port = " + management[0] + "}, {host = \"127.0.0.1\", port = " + management[1] + "}]";
    List<ActorSystem<Void>> nodes = new ArrayList<>();
    try {
      for (int port : management) {
        Config config = ConfigFactory.parseString(String.join("\n",
                "tidemark.cluster.bootstrap = on",
                "akka.actor.provider = cluster",
                "akka.remote.artery.canonical.hostname = 127.0.0.1",
                "akka.remote.artery.canonical.port = 0",
                "akka.cluster.seed-nodes = []",
                "akka.cluster.jmx.multi-mbeans-in-same-jvm = on",
                "akka.coordinated-shutdown.terminate-actor-system = on",
                "akka.management.http.hostname = 127.0.0.1",
                "akka.management.http.port = " + port,
                "akka.management.cluster.bootstrap.contact-point-discovery.discovery-method = config",
                "akka.management.cluster.bootstrap.contact-point-discovery.service-name = tidemark",
                "akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr = 2",
                "akka.management.cluster.bootstrap.contact-point-discovery.stable-margin = 1s",
                // Both on one host, on two ports (in Kubernetes every pod has the same one).
                "akka.management.cluster.bootstrap.contact-point.filter-on-fallback-port = false",
                "akka.discovery.config.services.tidemark.endpoints = " + endpoints))
            .withFallback(ConfigFactory.load());
        ActorSystem<Void> node = ActorSystem.create(Behaviors.empty(), "bootstrap-it", config);
        nodes.add(node);
        AkkaManagement.get(node.classicSystem()).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(ClusterJoin.start(node, config)).isEqualTo("joining through Akka Cluster Bootstrap (discovery: config)");
      }
      Await.until(Duration.ofSeconds(60), () -> nodes.stream().allMatch(node -> Clusters.upMembers(node) == 2),
          () -> "both nodes Up in one cluster: " + nodes.stream().map(Clusters::upMembers).toList());
    } finally {
      Clusters.stopAll(nodes);
    }
  }

  @Test
  void bootstrapWithSeedNodesIsRefused() {
    Config config = ConfigFactory.parseString(String.join("\n",
            "tidemark.cluster.bootstrap = on",
            "akka.cluster.seed-nodes = [\"akka://tidemark@10.0.0.1:25520\"]"))
        .withFallback(ConfigFactory.load());
    assertThatThrownBy(() -> ClusterJoin.check(config)).isInstanceOf(TidemarkException.class)
        .hasMessage("tidemark.cluster.bootstrap = on finds the nodes through Akka Cluster Bootstrap: expected akka.cluster.seed-nodes = []"
            + " (it is [akka://tidemark@10.0.0.1:25520])");
  }
}
