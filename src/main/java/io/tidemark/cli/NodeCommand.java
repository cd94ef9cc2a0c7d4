package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import com.typesafe.config.Config;
import io.tidemark.TidemarkException;
import io.tidemark.service.DemoStream;
import io.tidemark.service.ServiceNode;
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
    header = "Run one node of a Tidemark cluster, for the demo's stream.",
    description = {
      "Run one node of a Tidemark cluster for the demo's stream: `run` with conf/demo.conf (one consumer",
      "for the stream across the cluster, fenced, with fast failover), against a MongoDB and a",
      "checkpoint database that the nodes share (see `mongo`). Ctrl-C leaves the cluster gracefully."
    },
    mixinStandardHelpOptions = true)
final class NodeCommand implements Callable<Integer> {
  private static final Pattern HOST_PORT = Pattern.compile("[^:\\s]+:\\d{1,5}");

  @Option(names = "--port", paramLabel = "P", description = "Akka remoting port of this node (default: akka.remote.artery.canonical.port of --config, env TIDEMARK_REMOTE_PORT).")
  Integer port;

  @Option(names = "--host", paramLabel = "HOST", description = "Akka remoting host of this node (default: 127.0.0.1, or env TIDEMARK_REMOTE_HOST).")
  String host;

  @Option(names = "--seed", paramLabel = "HOST:PORT", description = "A seed node (repeat for several); the first node seeds itself (default: akka.cluster.seed-nodes of --config, env TIDEMARK_SEED_NODE_1..5).")
  List<String> seeds = new ArrayList<>();

  @Option(names = "--mongodb", paramLabel = "URI", description = "The MongoDB the nodes share (default: tidemark.mongodb.uri of --config, env TIDEMARK_MONGODB_URI or TIDEMARK_MONGODB_URI_FILE).")
  String mongodb;

  @Option(names = "--checkpoints", paramLabel = "JDBC_URL", description = "The checkpoint database the nodes share (default: the one --config names; without --config jdbc:h2:tcp://127.0.0.1:9092/checkpoints, served by `mongo`).")
  String checkpoints;

  @picocli.CommandLine.Mixin ManagementOptions.Serve management = new ManagementOptions.Serve();

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults, such as conf/production.conf.")
  Path config;

  static final String DEFAULT_CHECKPOINTS = "jdbc:h2:tcp://127.0.0.1:9092/checkpoints";

  @Override
  public Integer call() {
    Config loaded = ServiceConfig.load(config, options(), System.getenv(), DemoStream.resource());
    if (loaded.getStringList("akka.cluster.seed-nodes").isEmpty()) {
      throw new TidemarkException("no seed nodes: expected --seed HOST:PORT, or akka.cluster.seed-nodes in " + config
          + " (conf/production.conf reads TIDEMARK_SEED_NODE_1..5, such as akka://tidemark@tidemark-1:25520)");
    }
    new ServiceNode(DemoStream.configure(loaded), NodeCommand.class.getClassLoader()).run();
    return 0;
  }

  /**
   * The options as config keys. Without {@code --port} or {@code --seed}, {@code --config} must name
   * them (conf/production.conf reads them from the environment); without {@code --checkpoints}, the
   * checkpoint database is the one {@code --config} names, or the H2 server of {@code mongo}.
   */
  Map<String, Object> options() {
    Map<String, Object> options = new HashMap<>();
    if (port == null && config == null) {
      throw new TidemarkException("a node needs --port P, or --config FILE naming akka.remote.artery.canonical.port");
    }
    if (port != null) options.put("akka.remote.artery.canonical.port", port);
    if (mongodb != null) options.put("tidemark.mongodb.uri", mongodb);
    if (host != null) options.put("akka.remote.artery.canonical.hostname", host);
    if (seeds.isEmpty() && config == null) {
      throw new TidemarkException("a node needs --seed HOST:PORT, or --config FILE naming akka.cluster.seed-nodes");
    }
    if (!seeds.isEmpty()) {
      List<String> seedNodes = new ArrayList<>();
      for (String seed : seeds) {
        if (!HOST_PORT.matcher(seed).matches()) {
          throw new TidemarkException("invalid --seed '" + seed + "': expected HOST:PORT, such as 127.0.0.1:25521");
        }
        seedNodes.add("akka://tidemark@" + seed);
      }
      options.put("akka.cluster.seed-nodes", seedNodes);
    }
    if (checkpoints != null || config == null) {
      options.putAll(CheckpointDatabase.options(checkpoints != null ? checkpoints : DEFAULT_CHECKPOINTS));
    }
    options.putAll(management.overrides(spec == null ? null : spec.commandLine()));
    return options;
  }
}
