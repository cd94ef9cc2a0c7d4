package io.tidemark.service;

import akka.actor.AddressFromURIString;
import akka.actor.typed.ActorSystem;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.cluster.typed.JoinSeedNodes;
import akka.management.cluster.bootstrap.ClusterBootstrap;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.util.List;

/**
 * How a node of the service joins its cluster, once everything is checked: through Akka Cluster
 * Bootstrap ({@code tidemark.cluster.bootstrap = on}: the nodes are found by Akka Discovery, such as
 * the Kubernetes API, and agree on who forms the cluster), to the configured seed nodes, or, without
 * any, as a cluster of its own. Bootstrap needs the management endpoints started first: the nodes
 * probe each other there.
 */
public final class ClusterJoin {
  private ClusterJoin() {}

  /** Checks the choice before anything starts: bootstrap and seed nodes exclude each other. */
  static void check(Config config) {
    List<String> seeds = config.getStringList("akka.cluster.seed-nodes");
    if (ConfigCheck.flag(config, "tidemark.cluster.bootstrap") && !seeds.isEmpty()) {
      throw new TidemarkException("tidemark.cluster.bootstrap = on finds the nodes through Akka Cluster Bootstrap: expected"
          + " akka.cluster.seed-nodes = [] (it is " + seeds + ")");
    }
  }

  /** Starts joining, as {@code config} says; returns how, for the log. */
  public static String start(ActorSystem<?> system, Config config) {
    check(config);
    Cluster cluster = Cluster.get(system);
    if (ConfigCheck.flag(config, "tidemark.cluster.bootstrap")) {
      ClusterBootstrap.get(system.classicSystem()).start();
      return "joining through Akka Cluster Bootstrap (discovery: "
          + config.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method") + ")";
    }
    List<String> seeds = config.getStringList("akka.cluster.seed-nodes");
    if (seeds.isEmpty()) {
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      return "one-node cluster";
    }
    cluster.manager().tell(new JoinSeedNodes(seeds.stream().map(AddressFromURIString::parse).toList()));
    return "joining " + seeds;
  }
}
