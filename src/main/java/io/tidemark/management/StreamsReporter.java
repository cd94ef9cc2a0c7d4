package io.tidemark.management;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.receptionist.Receptionist;
import akka.actor.typed.receptionist.ServiceKey;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.JsonSerializable;
import io.tidemark.cluster.NodeStreams;
import java.util.List;
import java.util.Map;

/**
 * One per node, registered with the receptionist under {@link #KEY}: answers any node of the
 * cluster with this node's own view of its streams, which {@link ClusterStatus} gathers from every
 * node and merges.
 */
@akka.annotation.InternalApi
public final class StreamsReporter {
  private StreamsReporter() {}

  static final ServiceKey<Command> KEY = ServiceKey.create(Command.class, "tidemark-streams-reporter");

  public interface Command extends JsonSerializable {}

  /** Asks for the node's {@link Report}. */
  public record Get(ActorRef<Report> replyTo) implements Command {}

  /**
   * One node's view: its address, the streams it is a candidate to run, and the status of each
   * stream it runs, saw stop, or stopped for good, as the JSON array {@code /tidemark/streams}
   * shows. (A JSON tree, not maps of objects: Akka's Jackson reads nested untyped maps back as
   * Scala maps.)
   */
  public record Report(String node, List<String> candidates, JsonNode streams) implements JsonSerializable {
    /** The streams' statuses as plain Java maps, lists and numbers. */
    public List<Map<String, Object>> statuses() {
      return JSON.convertValue(streams, STATUSES);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final TypeReference<List<Map<String, Object>>> STATUSES = new TypeReference<>() {};

  static Report report(ActorSystem<?> system) {
    return new Report(system.address().toString(), NodeStreams.get(system).candidates(), JSON.valueToTree(StreamStatus.local(system)));
  }

  static Behavior<Command> create() {
    return Behaviors.setup(context -> {
      context.getSystem().receptionist().tell(Receptionist.register(KEY, context.getSelf()));
      return Behaviors.receive(Command.class)
          .onMessage(Get.class, get -> {
            get.replyTo().tell(report(context.getSystem()));
            return Behaviors.same();
          })
          .build();
    });
  }
}
