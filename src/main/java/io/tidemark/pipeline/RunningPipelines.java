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
  private final Map<String, java.util.concurrent.CompletableFuture<PipelineControl>> waiting = new ConcurrentHashMap<>();

  public static RunningPipelines get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  void started(PipelineControl control) {
    pipelines.put(control.stream(), new Entry(control, false, null));
    java.util.concurrent.CompletableFuture<PipelineControl> first = waiting.remove(control.stream());
    if (first != null) first.complete(control);
  }

  /** The pipeline of the stream running on this node, if one does (and has not stopped). */
  public java.util.Optional<PipelineControl> running(String stream) {
    Entry entry = pipelines.get(stream);
    return entry == null || entry.failed() ? java.util.Optional.empty() : java.util.Optional.of(entry.control());
  }

  /** Completes with the stream's pipeline as soon as one runs on this node. */
  public java.util.concurrent.CompletionStage<PipelineControl> whenRunning(String stream) {
    java.util.concurrent.CompletableFuture<PipelineControl> future =
        waiting.computeIfAbsent(stream, any -> new java.util.concurrent.CompletableFuture<>());
    running(stream).ifPresent(control -> {
      waiting.remove(stream, future);
      future.complete(control);
    });
    return future;
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
