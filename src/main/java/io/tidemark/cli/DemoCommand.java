package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import io.tidemark.service.DemoJob;
import io.tidemark.service.DemoStream;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(
    name = "demo",
    header = "Run the demo: an embedded MongoDB, the pipeline, a workload, a view.",
    description = {
      "Run the main job on the embedded default: an embedded MongoDB, a one-node Akka cluster running",
      "the demo's stream (conf/demo.conf: the orders into a view and a ledger) as `run` runs streams,",
      "and a workload writing orders. Ctrl-C stops it gracefully and saves the checkpoint."
    },
    mixinStandardHelpOptions = true)
final class DemoCommand implements Callable<Integer> {

  @Mixin DemoOptions where;

  @Option(names = "--rate", paramLabel = "N", description = "Workload writes per second (default: 100).")
  Integer rate;

  @Option(names = "--events", paramLabel = "N", description = "Stop after N writes, once all are processed (default: run until stopped).")
  Long events;

  @Option(names = "--port", paramLabel = "P", description = "Port of the embedded MongoDB (default: any free port).")
  Integer port;

  @Mixin ManagementOptions.Serve management = new ManagementOptions.Serve();

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Flags.positiveEvents(spec.commandLine(), events);
    Flags.positiveRate(spec.commandLine(), rate);
    Flags.port(spec.commandLine(), "--port", port);
    Map<String, Object> options = where.overrides();
    if (rate != null) options.put("tidemark.demo.rate", rate);
    if (events != null) options.put("tidemark.demo.events", events);
    if (port != null) options.put("tidemark.demo.mongodb-port", port);
    options.putAll(management.overrides(spec.commandLine()));
    com.typesafe.config.Config loaded = ServiceConfig.load(where.config, options, System.getenv(), DemoStream.resource());
    new DemoJob(DemoStream.configure(loaded), where.mongodb(loaded)).run();
    return 0;
  }
}
