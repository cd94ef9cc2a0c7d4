package io.tidemark.management;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.jackson.JacksonSerializer;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.management.ClusterStatus.Answer;
import io.tidemark.management.ClusterStatus.NodeMember;
import java.time.Duration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** How the nodes' answers merge into the cluster-wide status, and that a node's report crosses the wire. */
class ClusterStatusTest {
  private static final String A = "akka://tidemark@10.0.0.1:25520";
  private static final String B = "akka://tidemark@10.0.0.2:25520";
  private static final String C = "akka://tidemark@10.0.0.3:25520";
  private static final Duration TIMEOUT = Duration.ofSeconds(3);

  private static Map<String, Object> status(String stream, String state, String failure) {
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("stream", stream);
    status.put("state", state);
    if (failure != null) status.put("failure", failure);
    status.put("lagSeconds", 2);
    status.put("headroomSeconds", 86_000);
    status.put("checkpointAgeSeconds", 0.4);
    return status;
  }

  private static Answer answer(String node, List<String> candidates, List<Map<String, Object>> streams) {
    return new Answer(node, new StreamsReporter.Report(node, candidates, new ObjectMapper().valueToTree(streams)), null);
  }

  @SuppressWarnings("unchecked")
  private static List<Map<String, Object>> list(Map<String, Object> body, String key) {
    return (List<Map<String, Object>>) body.get(key);
  }

  private static Map<String, Object> find(List<Map<String, Object>> views, String key, String value) {
    return views.stream().filter(view -> value.equals(view.get(key))).findFirst().orElseThrow(() -> new AssertionError(key + " " + value + " in " + views));
  }

  @Test
  void aStandbyNodeReportsTheStreamItsHolderRuns() {
    Map<String, Object> body = ClusterStatus.merge(B, TIMEOUT,
        List.of(new NodeMember(A, "Up", true), new NodeMember(B, "Up", true)),
        List.of(answer(A, List.of("orders"), List.of(status("orders", "running", null))), answer(B, List.of("orders"), List.of())));

    assertThat(body.get("node")).isEqualTo(B);
    Map<String, Object> orders = find(list(body, "streams"), "stream", "orders");
    assertThat(orders).containsEntry("node", A).containsEntry("state", "running").containsEntry("lagSeconds", 2)
        .containsEntry("headroomSeconds", 86_000).containsEntry("checkpointAgeSeconds", 0.4).doesNotContainKey("alsoReportedBy");
    assertThat(List.copyOf(orders.keySet()).subList(0, 3)).containsExactly("stream", "node", "state");
    assertThat(find(list(body, "nodes"), "node", A)).containsEntry("answered", true).containsEntry("holds", List.of("orders"));
    assertThat(find(list(body, "nodes"), "node", B)).containsEntry("answered", true).containsEntry("holds", List.of())
        .containsEntry("member", "Up");
  }

  @Test
  void aStreamNoNodeRunsIsStandbyWhenAllAnsweredAndUnknownOtherwise() {
    List<Answer> answers = List.of(answer(A, List.of("orders", "refunds"), List.of(status("orders", "running", null))),
        answer(B, List.of("orders", "refunds"), List.of()));
    Map<String, Object> all = ClusterStatus.merge(A, TIMEOUT, List.of(new NodeMember(A, "Up", true), new NodeMember(B, "Up", true)), answers);
    assertThat(find(list(all, "streams"), "stream", "refunds")).containsEntry("node", null).containsEntry("state", "standby")
        .containsKey("reason");

    Map<String, Object> partial = ClusterStatus.merge(A, TIMEOUT,
        List.of(new NodeMember(A, "Up", true), new NodeMember(B, "Up", true), new NodeMember(C, "Up", false)), answers);
    assertThat(find(list(partial, "streams"), "stream", "refunds")).containsEntry("state", "unknown")
        .containsEntry("reason", "no node that answered runs it; 1 node(s) did not answer");
    assertThat(find(list(partial, "nodes"), "node", C)).containsEntry("answered", false).containsEntry("reachable", false)
        .containsEntry("noAnswer", "unreachable").doesNotContainKey("holds");
  }

  @Test
  void nodesThatDidNotAnswerAreListedWithWhy() {
    Map<String, Object> body = ClusterStatus.merge(A, TIMEOUT,
        List.of(new NodeMember(A, "Up", true), new NodeMember(B, "Up", true), new NodeMember(C, "Leaving", true)),
        List.of(answer(A, List.of("orders"), List.of(status("orders", "running", null))), new Answer(B, null, "did not answer within 3s")));
    assertThat(find(list(body, "nodes"), "node", B)).containsEntry("answered", false).containsEntry("noAnswer", "did not answer within 3s");
    assertThat(find(list(body, "nodes"), "node", C)).containsEntry("answered", false).containsEntry("member", "Leaving")
        .satisfies(view -> assertThat((String) view.get("noAnswer")).startsWith("no status reporter registered"));
    assertThat(find(list(body, "streams"), "stream", "orders")).containsEntry("node", A).containsEntry("state", "running");
  }

  @Test
  void theNodeThatRunsAStreamWinsOverOneThatSawItFail() {
    Map<String, Object> body = ClusterStatus.merge(A, TIMEOUT, List.of(),
        List.of(answer(A, List.of("orders", "refunds"), List.of(status("orders", "failed", "boom"), status("refunds", "stopped", "fenced"))),
            answer(B, List.of("orders", "refunds"), List.of(status("orders", "running", null)))));
    Map<String, Object> orders = find(list(body, "streams"), "stream", "orders");
    assertThat(orders).containsEntry("node", B).containsEntry("state", "running");
    assertThat(orders.get("alsoReportedBy")).isEqualTo(List.of(Map.of("node", A, "state", "failed", "failure", "boom")));
    assertThat(find(list(body, "streams"), "stream", "refunds")).containsEntry("node", A).containsEntry("state", "stopped")
        .containsEntry("failure", "fenced");
    assertThat(find(list(body, "nodes"), "node", A)).containsEntry("holds", List.of("orders"));
  }

  @Test
  void aReportAndItsRequestCrossTheWireAsCbor() {
    ActorTestKit kit = ActorTestKit.create("cluster-status-test");
    try {
      Serializer serializer = SerializationExtension.get(kit.system().classicSystem()).findSerializerFor(new StreamsReporter.Get(null));
      assertThat(serializer).as("bound to Jackson through JsonSerializable").isInstanceOf(JacksonSerializer.class);
      Map<String, Object> figures = status("orders", "running", null);
      figures.put("eventsProcessed", 5_000_000_000L);
      figures.put("checkpoint", null);
      Map<String, Object> errors = new HashMap<>();
      errors.put("43", 1L);
      figures.put("failedCommands", errors);
      StreamsReporter.Report report = new StreamsReporter.Report(A, List.of("orders"), new ObjectMapper().valueToTree(List.of(figures)));
      Object back = kit.serializationTestKit().verifySerialization(report, false);
      assertThat(back).isInstanceOf(StreamsReporter.Report.class);
      StreamsReporter.Report read = (StreamsReporter.Report) back;
      assertThat(read.node()).isEqualTo(A);
      assertThat(read.candidates()).containsExactly("orders");
      Map<String, Object> readFigures = read.statuses().get(0);
      assertThat(readFigures).containsEntry("state", "running").containsEntry("checkpointAgeSeconds", 0.4)
          .containsEntry("eventsProcessed", 5_000_000_000L).containsEntry("failedCommands", Map.of("43", 1));
      assertThat(((Number) readFigures.get("lagSeconds")).longValue()).isEqualTo(2);

      TestProbe<StreamsReporter.Report> probe = kit.createTestProbe();
      kit.serializationTestKit().verifySerialization(new StreamsReporter.Get(probe.getRef()), true);
    } finally {
      kit.shutdownTestKit();
    }
  }
}
