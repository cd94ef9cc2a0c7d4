package io.tidemark.management;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import io.tidemark.ConfigCheck;
import io.tidemark.pipeline.PipelineStats;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.source.OplogSample;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What this node's streams looked like over time: every {@code tidemark.ops.sample-interval}, per
 * stream, the events processed so far, the lag, the window and the headroom; the newest
 * {@code tidemark.ops.sample-retention} of them, in memory. Served at {@code /tidemark/samples};
 * {@code tidemark report} draws them.
 */
@akka.annotation.InternalApi
public final class Samples implements Extension {

  /** One sample of one stream; null where the figure was not known yet. */
  @com.fasterxml.jackson.annotation.JsonAutoDetect(fieldVisibility = com.fasterxml.jackson.annotation.JsonAutoDetect.Visibility.ANY)
  public record Sample(long atMillis, long events, Double lagSeconds, int inFlight, Double checkpointAgeSeconds, Long headroomSeconds) {}

  private final Duration interval;
  private final int keep;
  private final Map<String, Deque<Sample>> byStream = new LinkedHashMap<>();

  private Samples(ActorSystem<?> system) {
    var config = system.settings().config();
    this.interval = ConfigCheck.positiveDuration(config, "tidemark.ops.sample-interval");
    Duration retention = ConfigCheck.positiveDuration(config, "tidemark.ops.sample-retention");
    this.keep = (int) Math.max(2, Math.min(1_000_000, retention.toMillis() / interval.toMillis()));
    RunningPipelines pipelines = RunningPipelines.get(system);
    system.scheduler().scheduleAtFixedRate(interval, interval, () -> record(pipelines), system.executionContext());
  }

  public static Samples get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  public Duration interval() {
    return interval;
  }

  private synchronized void record(RunningPipelines pipelines) {
    long now = System.currentTimeMillis();
    for (RunningPipelines.Entry entry : pipelines.all()) {
      PipelineStats stats = entry.control().stats();
      long clusterSeconds = stats.window().lastCompletedClusterTimeSeconds();
      long savedAt = stats.window().lastSavedAtMillis();
      OplogSample oplog = stats.oplog();
      Sample sample = new Sample(
          now,
          stats.window().completed(),
          clusterSeconds == 0 ? null : Math.max(0, now / 1000.0 - clusterSeconds),
          stats.window().inFlight(),
          savedAt == 0 ? null : (now - savedAt) / 1000.0,
          oplog == null ? null : oplog.headroomSeconds());
      Deque<Sample> samples = byStream.computeIfAbsent(entry.control().stream(), stream -> new ArrayDeque<>());
      samples.addLast(sample);
      while (samples.size() > keep) samples.removeFirst();
    }
  }

  /** The samples kept, by stream, oldest first. */
  public synchronized Map<String, List<Sample>> all() {
    Map<String, List<Sample>> copy = new LinkedHashMap<>();
    byStream.forEach((stream, samples) -> copy.put(stream, new ArrayList<>(samples)));
    return copy;
  }

  static final class Id extends ExtensionId<Samples> {
    static final Id INSTANCE = new Id();

    @Override
    public Samples createExtension(ActorSystem<?> system) {
      return new Samples(system);
    }
  }
}
