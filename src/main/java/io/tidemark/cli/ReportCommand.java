package io.tidemark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "report",
    header = "Write an HTML page of a node's lag, throughput and headroom.",
    description = {
      "Write an HTML page (inline SVG, no scripts) of each stream's lag, throughput and headroom over",
      "time, from the samples a running node keeps (tidemark.ops.sample-interval, sample-retention)."
    },
    mixinStandardHelpOptions = true)
final class ReportCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @picocli.CommandLine.Mixin ManagementOptions.Ask management;

  @Option(names = "--out", paramLabel = "FILE", description = "Where to write the page (default: tidemark-report.html).")
  Path out = Path.of("tidemark-report.html");

  @Override
  public Integer call() throws IOException {
    ManagementClient node = new ManagementClient(management.hostPort(spec.commandLine()));
    JsonNode samples = node.get("/tidemark/samples");
    JsonNode status = node.get("/tidemark/streams");
    Files.writeString(out, ReportPage.render(samples, status, Instant.now()), StandardCharsets.UTF_8);
    int streams = samples.path("streams").size();
    long points = 0;
    for (JsonNode stream : samples.path("streams")) points += stream.size();
    spec.commandLine().getOut().println("wrote " + out + ": " + streams + " stream" + (streams == 1 ? "" : "s") + ", " + points
        + " samples from " + node.base());
    return 0;
  }
}
