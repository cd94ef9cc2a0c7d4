package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.actor.typed.receptionist.Receptionist;
import akka.cluster.ClusterEvent;
import akka.cluster.Member;
import akka.cluster.typed.Cluster;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;

/**
 * Every stream of the cluster as any node sees it: each node's {@link StreamsReporter} is asked,
 * within {@code tidemark.ops.status-timeout}, and the answers are merged. For each stream: the node
 * that holds it, its state and its figures; for each node: whether it answered and what it holds.
 * A member that did not answer in time, or has no reporter (its management endpoints are not
 * started), is listed as such: the picture says where it is incomplete.
 *
 * <p>States: {@code running}; {@code failed} (stopped on a failure, restarting from its checkpoint);
 * {@code stopped} (stopped for good on its node: a failure a person must fix, or fenced out);
 * {@code standby} (no node runs it right now: it is starting, or moving to another node);
 * {@code unknown} (no node that answered runs it, and some node did not answer).
 */
@akka.annotation.InternalApi
public final class ClusterStatus implements Extension {

  /** A cluster member as this node sees it. */
  record NodeMember(String node, String status, boolean reachable) {}

  /** A reporter's answer, or why there is none (then {@code report} is null). */
  record Answer(String node, StreamsReporter.Report report, String silence) {}

  private final ActorSystem<?> system;
  private final Duration timeout;

  private ClusterStatus(ActorSystem<?> system) {
    this.system = system;
    this.timeout = ConfigCheck.positiveDuration(system.settings().config(), "tidemark.ops.status-timeout");
    system.systemActorOf(StreamsReporter.create(), "tidemark-streams-reporter", Props.empty());
  }

  /** Also starts this node's reporter: call it on every node that should answer (the status routes do). */
  public static ClusterStatus get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** The merged view, the body of {@code /tidemark/cluster/streams}. Completes within about twice the timeout. */
  public CompletionStage<Map<String, Object>> streams() {
    List<NodeMember> members = members();
    String self = system.address().toString();
    return AskPattern.<Receptionist.Command, Receptionist.Listing>ask(
            system.receptionist(), replyTo -> Receptionist.find(StreamsReporter.KEY, replyTo), timeout, system.scheduler())
        .thenApply(listing -> listing.getAllServiceInstances(StreamsReporter.KEY))
        .exceptionally(error -> Set.of())
        .thenCompose(reporters -> {
          // This node answers for itself at once; the others are asked.
          List<CompletableFuture<Answer>> answers = new ArrayList<>();
          answers.add(CompletableFuture.completedFuture(new Answer(self, StreamsReporter.report(system), null)));
          reporters.stream().filter(reporter -> !self.equals(nodeOf(reporter))).map(this::ask).forEach(answers::add);
          return CompletableFuture.allOf(answers.toArray(CompletableFuture[]::new))
              .thenApply(all -> merge(self, timeout, members, answers.stream().map(CompletableFuture::join).toList()));
        });
  }

  private String nodeOf(ActorRef<StreamsReporter.Command> reporter) {
    return reporter.path().address().hasGlobalScope() ? reporter.path().address().toString() : system.address().toString();
  }

  private CompletableFuture<Answer> ask(ActorRef<StreamsReporter.Command> reporter) {
    String node = nodeOf(reporter);
    return AskPattern.<StreamsReporter.Command, StreamsReporter.Report>ask(reporter, StreamsReporter.Get::new, timeout, system.scheduler())
        .handle((report, error) -> report != null
            ? new Answer(node, report, null)
            : new Answer(node, null, Errors.unwrap(error) instanceof java.util.concurrent.TimeoutException
                ? "did not answer within " + seconds(timeout)
                : "did not answer: " + Errors.summary(error)))
        .toCompletableFuture();
  }

  private List<NodeMember> members() {
    if (!(system.classicSystem() instanceof ExtendedActorSystem extended
        && extended.provider() instanceof akka.cluster.ClusterActorRefProvider)) {
      return List.of();
    }
    ClusterEvent.CurrentClusterState state = Cluster.get(system).state();
    Set<Member> unreachable = state.getUnreachable();
    List<NodeMember> members = new ArrayList<>();
    for (Member member : state.getMembers()) {
      members.add(new NodeMember(member.address().toString(), member.status().toString(), !unreachable.contains(member)));
    }
    return members;
  }

  /** The order a stream's reports are chosen in when several nodes report it: the one that runs it first. */
  private static int rank(Object state) {
    return switch (String.valueOf(state)) {
      case "running" -> 0;
      case "failed" -> 1;
      case "stopped" -> 2;
      default -> 3;
    };
  }

  /** Merges the members and the answers into the view ({@code self}: the node asked). */
  static Map<String, Object> merge(String self, Duration timeout, List<NodeMember> members, List<Answer> answers) {
    Map<String, NodeMember> memberOf = new TreeMap<>();
    members.forEach(member -> memberOf.put(member.node(), member));
    Map<String, Answer> answerOf = new TreeMap<>();
    for (Answer answer : answers) {
      // A node asked twice (an old registration of the same address): its answer wins over a silence.
      answerOf.merge(answer.node(), answer, (one, other) -> one.report() != null ? one : other);
    }
    Set<String> nodes = new TreeSet<>(memberOf.keySet());
    nodes.addAll(answerOf.keySet());

    // Every stream any node is a candidate for or reports, with who reports it.
    Map<String, List<Map.Entry<String, Map<String, Object>>>> reports = new TreeMap<>();
    List<String> silent = new ArrayList<>();
    List<Map<String, Object>> nodeViews = new ArrayList<>();
    for (String node : nodes) {
      NodeMember member = memberOf.get(node);
      Answer answer = answerOf.get(node);
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("node", node);
      view.put("member", member == null ? null : member.status());
      view.put("reachable", member == null || member.reachable());
      view.put("answered", answer != null && answer.report() != null);
      if (answer == null || answer.report() == null) {
        silent.add(node);
        String why = answer != null ? answer.silence()
            : member != null && !member.reachable() ? "unreachable"
            : "no status reporter registered (its management endpoints are not started, or it has only just joined)";
        view.put("noAnswer", member != null && !member.reachable() && answer != null ? why + " (unreachable)" : why);
      } else {
        List<String> holds = new ArrayList<>();
        answer.report().candidates().forEach(stream -> reports.computeIfAbsent(stream, any -> new ArrayList<>()));
        for (Map<String, Object> status : answer.report().statuses()) {
          String stream = String.valueOf(status.get("stream"));
          reports.computeIfAbsent(stream, any -> new ArrayList<>()).add(Map.entry(node, status));
          if (rank(status.get("state")) <= 1) holds.add(stream);
        }
        view.put("holds", holds);
      }
      nodeViews.add(view);
    }

    List<Map<String, Object>> streams = new ArrayList<>();
    reports.forEach((stream, reported) -> {
      Map<String, Object> view = new LinkedHashMap<>();
      view.put("stream", stream);
      if (reported.isEmpty()) {
        view.put("node", null);
        if (silent.isEmpty()) {
          view.put("state", "standby");
          view.put("reason", "no node runs it right now: it is starting, or moving to another node");
        } else {
          view.put("state", "unknown");
          view.put("reason", "no node that answered runs it; " + silent.size() + " node(s) did not answer");
        }
        streams.add(view);
        return;
      }
      List<Map.Entry<String, Map<String, Object>>> ordered = new ArrayList<>(reported);
      ordered.sort(Comparator.comparingInt(entry -> rank(entry.getValue().get("state"))));
      Map.Entry<String, Map<String, Object>> holder = ordered.get(0);
      view.put("node", holder.getKey());
      holder.getValue().forEach((key, value) -> {
        if (!key.equals("stream")) view.put(key, value);
      });
      if (ordered.size() > 1) {
        List<Map<String, Object>> others = new ArrayList<>();
        for (Map.Entry<String, Map<String, Object>> other : ordered.subList(1, ordered.size())) {
          Map<String, Object> seen = new LinkedHashMap<>();
          seen.put("node", other.getKey());
          seen.put("state", other.getValue().get("state"));
          if (other.getValue().get("failure") != null) seen.put("failure", other.getValue().get("failure"));
          others.add(seen);
        }
        view.put("alsoReportedBy", others);
      }
      streams.add(view);
    });

    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", self);
    body.put("statusTimeoutSeconds", timeout.toMillis() / 1000.0);
    body.put("streams", streams);
    body.put("nodes", nodeViews);
    return body;
  }

  private static String seconds(Duration duration) {
    return duration.toMillis() % 1000 == 0 ? duration.toSeconds() + "s" : duration.toMillis() + "ms";
  }

  static final class Id extends ExtensionId<ClusterStatus> {
    static final Id INSTANCE = new Id();

    @Override
    public ClusterStatus createExtension(ActorSystem<?> system) {
      return new ClusterStatus(system);
    }
  }
}
