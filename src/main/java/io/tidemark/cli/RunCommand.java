package io.tidemark.cli;

import com.typesafe.config.Config;
import io.tidemark.TidemarkException;
import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceNode;
import java.io.IOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "run",
    header = "Run the streams a configuration declares.",
    description = {
      "Run the streams a configuration declares (tidemark.streams.<name> { source, format, sink, stages }),",
      "each with one consumer in the cluster. Without --seed (or akka.cluster.seed-nodes) the node is a",
      "cluster of its own. An invalid configuration stops it before it joins, with exit code 3.",
      "Ctrl-C drains every stream, saves its checkpoint and leaves the cluster."
    },
    mixinStandardHelpOptions = true)
final class RunCommand implements Callable<Integer> {
  private static final Pattern HOST_PORT = Pattern.compile("[^:\\s]+:\\d{1,5}");

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "The HOCON file declaring tidemark.streams (see conf/examples/).")
  Path config;

  @Option(names = "--plugins", paramLabel = "DIR", description = "A directory of jars with sink types (SinkFactory) and stages (StreamStage, EventHandler).")
  Path plugins;

  @Option(names = "--port", paramLabel = "P", description = "Akka remoting port of this node (default: akka.remote.artery.canonical.port, 0: any free one).")
  Integer port;

  @Option(names = "--host", paramLabel = "HOST", description = "Akka remoting host of this node (default: 127.0.0.1, or env TIDEMARK_REMOTE_HOST).")
  String host;

  @Option(names = "--seed", paramLabel = "HOST:PORT", description = "A seed node (repeat for several; default: akka.cluster.seed-nodes; none: a one-node cluster).")
  List<String> seeds = new ArrayList<>();

  @picocli.CommandLine.Mixin ManagementOptions.Serve management = new ManagementOptions.Serve();

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Config loaded = ServiceConfig.load(config, options());
    new ServiceNode(loaded, pluginLoader()).run();
    return 0;
  }

  Map<String, Object> options() {
    Map<String, Object> options = new HashMap<>();
    if (port != null) options.put("akka.remote.artery.canonical.port", port);
    if (host != null) options.put("akka.remote.artery.canonical.hostname", host);
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
    options.putAll(management.overrides(spec == null ? null : spec.commandLine()));
    return options;
  }

  private ClassLoader pluginLoader() {
    ClassLoader parent = RunCommand.class.getClassLoader();
    if (plugins == null) return parent;
    if (!Files.isDirectory(plugins)) {
      throw new TidemarkException("--plugins " + plugins + " is not a directory: expected a directory of plugin jars");
    }
    List<URL> jars = new ArrayList<>();
    try (Stream<Path> files = Files.list(plugins)) {
      for (Path jar : files.filter(path -> path.getFileName().toString().endsWith(".jar")).sorted().toList()) {
        jars.add(jar.toUri().toURL());
      }
    } catch (MalformedURLException e) {
      throw new TidemarkException("--plugins " + plugins + ": " + e.getMessage(), e);
    } catch (IOException e) {
      throw new TidemarkException("--plugins " + plugins + " could not be read: " + e.getMessage(), e);
    }
    return new URLClassLoader("tidemark-plugins", jars.toArray(URL[]::new), parent);
  }
}
