package io.tidemark.pipeline;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The pipelines running in this actor system, by stream name, for the health checks and the
 * status endpoint. A pipeline registers when it starts and leaves when it stops for good; one that
 * stopped on a failure stays listed as failed until the stream runs again here.
 */
public final class RunningPipelines implements Extension {

  /** A stream as this node sees it. */
  public record Entry(PipelineControl control, boolean failed, String failure) {}

  private final Map<String, Entry> pipelines = new ConcurrentHashMap<>();

  public static RunningPipelines get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  void started(PipelineControl control) {
    pipelines.put(control.stream(), new Entry(control, false, null));
  }

  void stopped(PipelineControl control, Throwable failure) {
    pipelines.computeIfPresent(control.stream(), (stream, entry) -> {
      if (entry.control() != control) return entry;
      return failure == null ? null : new Entry(control, true, io.tidemark.Errors.summary(failure));
    });
  }

  public List<Entry> all() {
    return List.copyOf(pipelines.values());
  }

  /** True when no pipeline here has stopped on a failure. */
  public boolean healthy() {
    return pipelines.values().stream().noneMatch(Entry::failed);
  }

  static final class Id extends ExtensionId<RunningPipelines> {
    static final Id INSTANCE = new Id();

    @Override
    public RunningPipelines createExtension(ActorSystem<?> system) {
      return new RunningPipelines();
    }
  }
}
