package io.tidemark;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.MemberStatus;
import akka.cluster.typed.Cluster;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.io.IOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.StreamSupport;

/** Akka clusters of several actor systems in one JVM, on loopback ports. */
public final class Clusters {
  private Clusters() {}

  public static int freePort() {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The node's address and seed are fixed here; its downing and shutdown defaults give way to {@code extra}. */
  public static Config node(String name, int port, int seedPort, Config extra) {
    return ConfigFactory.parseString(String.join("\n",
            "akka.actor.provider = cluster",
            "akka.remote.artery.canonical.hostname = 127.0.0.1",
            "akka.remote.artery.canonical.port = " + port,
            "akka.cluster.seed-nodes = [\"akka://" + name + "@127.0.0.1:" + seedPort + "\"]",
            "akka.cluster.jmx.multi-mbeans-in-same-jvm = on"))
        .withFallback(extra)
        .withFallback(ConfigFactory.parseString(String.join("\n",
            "akka.cluster.downing-provider-class = \"akka.cluster.sbr.SplitBrainResolverProvider\"",
            "akka.cluster.split-brain-resolver.stable-after = 3s",
            "akka.coordinated-shutdown.terminate-actor-system = on",
            "akka.coordinated-shutdown.phases.cluster-exiting.timeout = 3s")))
        .withFallback(ConfigFactory.load());
  }

  /** Starts {@code size} nodes that join the first one, and waits until all see all as Up. */
  public static List<ActorSystem<Void>> start(String name, int size, Config extra) {
    int seedPort = freePort();
    List<ActorSystem<Void>> nodes = new ArrayList<>();
    for (int i = 0; i < size; i++) {
      int port = i == 0 ? seedPort : freePort();
      nodes.add(ActorSystem.create(Behaviors.empty(), name, node(name, port, seedPort, extra)));
    }
    Await.until(Duration.ofSeconds(30), () -> nodes.stream().allMatch(node -> upMembers(node) == size),
        () -> size + " nodes up");
    return nodes;
  }

  public static long upMembers(ActorSystem<?> node) {
    return StreamSupport.stream(Cluster.get(node).state().getMembers().spliterator(), false)
        .filter(member -> member.status() == MemberStatus.up())
        .count();
  }

  public static void stopAll(List<ActorSystem<Void>> nodes) {
    for (ActorSystem<Void> node : nodes) node.terminate();
    for (ActorSystem<Void> node : nodes) node.getWhenTerminated().toCompletableFuture().join();
  }

  /** A demo started here binds its management endpoints on a free port, never the default 8558 a neighbour may hold. */
  public static String[] withFreeManagementPort(String... args) {
    if (args.length == 0 || !args[0].equals("demo") || java.util.List.of(args).contains("--management-port")
        || java.util.List.of(args).contains("--management")) {
      return args;
    }
    String[] more = java.util.Arrays.copyOf(args, args.length + 2);
    more[args.length] = "--management-port";
    more[args.length + 1] = "0";
    return more;
  }

}
