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
      "Ask any node of a running cluster, over its management port, for every stream of the cluster:",
      "which node holds it, its state, how far behind it is (lag), how long until its checkpoint falls",
      "off the oplog (headroom), the checkpoint's age, the window in flight, restarts and gaps; and",
      "which nodes stand by or did not answer."
    },
    mixinStandardHelpOptions = true)
final class StatusCommand implements Callable<Integer> {
  @Spec CommandLine.Model.CommandSpec spec;

  @picocli.CommandLine.Mixin ManagementOptions.Ask management;

  @Option(names = "--json", description = "Print the node's answer (/tidemark/cluster/streams) as JSON.")
  boolean json;

  @Override
  public Integer call() {
    JsonNode body = new ManagementClient(management.hostPort(spec.commandLine())).get("/tidemark/cluster/streams");
    PrintWriter out = spec.commandLine().getOut();
    JsonNode nodes = body.path("nodes");
    JsonNode streams = body.path("streams");
    boolean problem = false;
    for (JsonNode node : nodes) problem |= !node.path("answered").asBoolean();
    for (JsonNode stream : streams) problem |= !"running".equals(stream.path("state").asText());
    if (json) {
      out.println(body.toPrettyString());
      return problem ? Main.PROBLEM_FOUND : 0;
    }
    long answered = 0;
    for (JsonNode node : nodes) if (node.path("answered").asBoolean()) answered++;
    out.println("node " + body.path("node").asText("?") + " (" + nodes.size() + " node" + (nodes.size() == 1 ? "" : "s")
        + " in the cluster, " + answered + " answered)");
    if (streams.isEmpty()) {
      out.println("no streams in the cluster");
    } else {
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"STREAM", "NODE", "STATE", "EVENTS", "LAG", "CHECKPOINT AGE", "HEADROOM", "OPLOG WINDOW", "IN FLIGHT", "RESTARTS", "GAPS"});
      for (JsonNode stream : streams) {
        rows.add(new String[] {
          stream.path("stream").asText(),
          hostPort(stream.get("node")),
          stream.path("state").asText(),
          stream.path("eventsProcessed").asText("-"),
          seconds(stream.get("lagSeconds")),
          seconds(stream.get("checkpointAgeSeconds")),
          seconds(stream.get("headroomSeconds")),
          seconds(stream.get("oplogWindowSeconds")),
          inFlight(stream),
          stream.path("restarts").asText("-"),
          stream.path("gaps").asText("-")
        });
      }
      CheckpointsCommand.Text.table(out, rows);
    }
    List<String> standby = new ArrayList<>();
    for (JsonNode node : nodes) {
      if (node.path("answered").asBoolean() && node.path("holds").isEmpty()) standby.add(hostPort(node.get("node")));
    }
    if (!standby.isEmpty()) out.println("standing by (running no stream): " + String.join(", ", standby));
    for (JsonNode node : nodes) {
      if (!node.path("answered").asBoolean()) {
        out.println(hostPort(node.get("node")) + " did not answer: " + node.path("noAnswer").asText("?"));
      }
    }
    for (JsonNode stream : streams) {
      String name = stream.path("stream").asText();
      String state = stream.path("state").asText();
      if (stream.hasNonNull("failure")) out.println(name + " " + state + " on " + hostPort(stream.get("node")) + ": " + stream.get("failure").asText());
      if (stream.hasNonNull("reason")) out.println(name + " " + state + ": " + stream.get("reason").asText());
      JsonNode snapshot = stream.path("snapshot");
      if (!snapshot.isMissingNode() && "copying".equals(snapshot.path("state").asText())) {
        out.println(name + " snapshot: " + snapshot.path("documentsCopied").asText() + " of ~"
            + snapshot.path("estimatedDocuments").asText("?") + " documents copied, " + snapshot.path("documentsPerSecond").asText("-")
            + " documents/s, ETA " + seconds(snapshot.get("etaSeconds")));
      }
      JsonNode incremental = stream.path("incrementalSnapshot");
      String copyState = incremental.path("state").asText();
      if (!incremental.isMissingNode() && ("copying".equals(copyState) || "paused".equals(copyState))) {
        out.println(name + " incremental snapshot " + incremental.path("request").asText() + " of " + incremental.path("collection").asText()
            + ": " + ("paused".equals(copyState) ? "paused after " : "") + incremental.path("documentsCopied").asText()
            + " documents copied in " + incremental.path("chunks").asText() + " chunks");
      }
    }
    return problem ? Main.PROBLEM_FOUND : 0;
  }

  /** {@code akka://tidemark@10.0.0.5:25520} as {@code 10.0.0.5:25520}; "-" for none. */
  static String hostPort(JsonNode address) {
    if (address == null || address.isNull()) return "-";
    String text = address.asText();
    int at = text.indexOf('@');
    return at < 0 ? text : text.substring(at + 1);
  }

  private static String inFlight(JsonNode stream) {
    String inFlight = stream.path("inFlight").asText("-");
    return stream.hasNonNull("windowCapacity") ? inFlight + "/" + stream.get("windowCapacity").asText() : inFlight;
  }

  private static String seconds(JsonNode value) {
    if (value == null || value.isNull()) return "-";
    double seconds = value.asDouble();
    if (Math.abs(seconds) < 60 && seconds != Math.rint(seconds)) return String.format(Locale.ROOT, "%.1fs", seconds);
    return io.tidemark.source.OplogMonitor.human(Math.round(seconds));
  }
}
