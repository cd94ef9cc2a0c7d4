package io.tidemark.ops;

import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.JournalSchema;
import io.tidemark.embedded.DemoJob;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "node",
    description = {
      "Run one node of a Tidemark cluster: the demo's pipeline in a cluster singleton (one consumer",
      "for the stream across the cluster, fenced, with fast failover), against a MongoDB and a",
      "checkpoint database that the nodes share (see `mongo`). Ctrl-C leaves the cluster gracefully."
    },
    mixinStandardHelpOptions = true)
final class NodeCommand implements Callable<Integer> {
  private static final Pattern HOST_PORT = Pattern.compile("[^:\\s]+:\\d{1,5}");

  @Option(names = "--port", paramLabel = "P", required = true, description = "Akka remoting port of this node.")
  int port;

  @Option(names = "--host", paramLabel = "HOST", description = "Akka remoting host of this node (default: 127.0.0.1).")
  String host;

  @Option(names = "--seed", paramLabel = "HOST:PORT", required = true, description = "A seed node (repeat for several); the first node seeds itself.")
  List<String> seeds = new ArrayList<>();

  @Option(names = "--mongodb", paramLabel = "URI", required = true, description = "The MongoDB the nodes share.")
  String mongodb;

  @Option(names = "--checkpoints", paramLabel = "JDBC_URL", description = "The checkpoint database the nodes share (default: jdbc:h2:tcp://127.0.0.1:9092/checkpoints, served by `mongo`).")
  String checkpoints;

  @Option(names = "--management-port", paramLabel = "P", description = "Port of the management endpoints on 127.0.0.1 (default: 8558).")
  Integer managementPort;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  static final String DEFAULT_CHECKPOINTS = "jdbc:h2:tcp://127.0.0.1:9092/checkpoints";

  @Override
  public Integer call() {
    Map<String, Object> options = new HashMap<>();
    options.put("akka.remote.artery.canonical.port", port);
    if (host != null) options.put("akka.remote.artery.canonical.hostname", host);
    List<String> seedNodes = new ArrayList<>();
    for (String seed : seeds) {
      if (!HOST_PORT.matcher(seed).matches()) {
        throw new TidemarkException("invalid --seed '" + seed + "': expected HOST:PORT, such as 127.0.0.1:25521");
      }
      seedNodes.add("akka://tidemark@" + seed);
    }
    options.put("akka.cluster.seed-nodes", seedNodes);
    options.putAll(CheckpointDatabase.options(checkpoints != null ? checkpoints : DEFAULT_CHECKPOINTS));
    if (managementPort != null) options.put("akka.management.http.port", managementPort);
    new DemoJob(CliConfig.load(config, options), mongodb, DemoJob.Mode.CLUSTER_NODE).run();
    return 0;
  }
}
