package io.tidemark.cluster;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * What this node knows of its streams beyond the pipelines it runs ({@code RunningPipelines}): the
 * streams it is a candidate to run (given to {@link StreamSingleton} or {@link StreamShards} here),
 * and those whose consumer here stopped for good, with why, until that consumer is stopped. The
 * cluster-wide status reads it: a candidate that no node runs is waiting for a node; one that
 * stopped for good does not come back by itself.
 */
public final class NodeStreams implements Extension {
  private final Set<String> candidates = new LinkedHashSet<>();
  private final Map<String, String> stoppedForGood = new TreeMap<>();

  public static NodeStreams get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  synchronized void candidateFor(Collection<String> streams) {
    candidates.addAll(streams);
  }

  synchronized void stoppedForGood(String stream, String reason) {
    stoppedForGood.put(stream, reason);
  }

  /** The stream's consumer on this node started, or stopped: it no longer stands stopped here. */
  synchronized void consumerChanged(String stream) {
    stoppedForGood.remove(stream);
  }

  /** The streams this node may run, in the order it was given them. */
  public synchronized List<String> candidates() {
    return List.copyOf(candidates);
  }

  /** Streams whose consumer on this node stopped for good and stays stopped, with why, by name. */
  public synchronized Map<String, String> stoppedForGood() {
    return Map.copyOf(stoppedForGood);
  }

  static final class Id extends ExtensionId<NodeStreams> {
    static final Id INSTANCE = new Id();

    @Override
    public NodeStreams createExtension(ActorSystem<?> system) {
      return new NodeStreams();
    }
  }
}
