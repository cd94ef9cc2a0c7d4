package io.tidemark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(
    name = "status",
    header = "Show what a running node's streams do: state, lag, headroom.",
    description = {
      "Ask a running node, over its management port, for the streams it runs: how far behind they are",
      "(lag), how long until their checkpoint falls off the oplog (headroom), the oplog window, the",
      "window in flight, restarts and gaps."
    },
    mixinStandardHelpOptions = true)
final class StatusCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @picocli.CommandLine.Mixin ManagementOptions.Ask management;

  @Option(names = "--json", description = "Print the node's answer as JSON.")
  boolean json;

  @Override
  public Integer call() {
    JsonNode body = new ManagementClient(management.hostPort(spec.commandLine())).get("/tidemark/streams");
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(body.toPrettyString());
      return 0;
    }
    out.println("node " + body.path("node").asText("?"));
    if (!body.path("streams").isArray() || body.path("streams").isEmpty()) {
      out.println("no streams run on this node");
      return 0;
    }
    List<String[]> rows = new ArrayList<>();
    rows.add(new String[] {"STREAM", "STATE", "EVENTS", "LAG", "CHECKPOINT AGE", "HEADROOM", "OPLOG WINDOW", "IN FLIGHT", "RESTARTS", "GAPS"});
    boolean failed = false;
    for (JsonNode stream : body.get("streams")) {
      failed |= "failed".equals(stream.path("state").asText());
      rows.add(new String[] {
        stream.path("stream").asText(),
        stream.path("state").asText(),
        stream.path("eventsProcessed").asText("-"),
        seconds(stream.get("lagSeconds")),
        seconds(stream.get("checkpointAgeSeconds")),
        seconds(stream.get("headroomSeconds")),
        seconds(stream.get("oplogWindowSeconds")),
        stream.path("inFlight").asText("-"),
        stream.path("restarts").asText("-"),
        stream.path("gaps").asText("-")
      });
    }
    CheckpointsCommand.Text.table(out, rows);
    for (JsonNode stream : body.get("streams")) {
      if (stream.hasNonNull("failure")) out.println(stream.path("stream").asText() + " failed: " + stream.get("failure").asText());
      JsonNode snapshot = stream.path("snapshot");
      if (!snapshot.isMissingNode() && "copying".equals(snapshot.path("state").asText())) {
        out.println(stream.path("stream").asText() + " snapshot: " + snapshot.path("documentsCopied").asText() + " of ~"
            + snapshot.path("estimatedDocuments").asText("?") + " documents copied, " + snapshot.path("documentsPerSecond").asText("-")
            + " documents/s, ETA " + seconds(snapshot.get("etaSeconds")));
      }
    }
    return failed ? Main.PROBLEM_FOUND : 0;
  }

  private static String seconds(JsonNode value) {
    if (value == null || value.isNull()) return "-";
    double seconds = value.asDouble();
    if (Math.abs(seconds) < 60 && seconds != Math.rint(seconds)) return String.format(Locale.ROOT, "%.1fs", seconds);
    return io.tidemark.source.OplogMonitor.human(Math.round(seconds));
  }
}
