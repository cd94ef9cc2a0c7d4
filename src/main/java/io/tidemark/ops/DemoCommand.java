package io.tidemark.ops;

import io.tidemark.embedded.DemoJob;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    description = {
      "Run the main job on the embedded default: an embedded MongoDB, a one-node Akka cluster with the",
      "pipeline in a cluster singleton, a workload writing orders, and a sink keeping their view.",
      "Ctrl-C stops it gracefully and saves the checkpoint."
    },
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data).")
  Path data;

  @Option(names = "--rate", paramLabel = "N", description = "Workload writes per second (default: 100).")
  Integer rate;

  @Option(names = "--events", paramLabel = "N", description = "Stop after N writes, once all are processed (default: run until stopped).")
  Long events;

  @Option(names = "--port", paramLabel = "P", description = "Port of the embedded MongoDB (default: any free port).")
  Integer port;

  @Option(names = "--mongodb", paramLabel = "URI", description = "Use this MongoDB replica set instead of the embedded server.")
  String mongodb;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  @Override
  public Integer call() {
    Map<String, Object> options = new HashMap<>();
    if (data != null) options.put("tidemark.demo.data-dir", data.toAbsolutePath().normalize().toString());
    if (rate != null) options.put("tidemark.demo.rate", rate);
    if (events != null) options.put("tidemark.demo.events", events);
    if (port != null) options.put("tidemark.demo.mongodb-port", port);
    new DemoJob(CliConfig.load(config, options), mongodb).run();
    return 0;
  }
}
