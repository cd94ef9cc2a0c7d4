package io.tidemark.service;

import akka.actor.typed.ActorSystem;
import io.tidemark.StreamMdc;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.window.WindowStats;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The progress line of every stream of a node, on the {@code tidemark.progress} logger every
 * {@code tidemark.service.progress-interval}: {@code "<stream>: N events processed, r events/s, lag L,
 * checkpoint age A, in flight F"}. A stream that runs on another node and never ran here prints
 * "standby" only under {@code tidemark.service.standby-progress}; one still opening (before its change
 * stream has opened from its start position) prints nothing yet. A line may carry more about its
 * stream ({@link #suffix}: the demo's workload writes).
 */
public final class StreamProgress {
  private static final Logger progress = LoggerFactory.getLogger("tidemark.progress");
  /** The figures shown while a stream does not run on this node. */
  private static final WindowStats IDLE = new WindowStats();

  private final ActorSystem<?> system;
  private final List<String> streams;
  private final ServiceSettings settings;
  private final Map<String, Supplier<String>> suffixes = new ConcurrentHashMap<>();

  StreamProgress(ActorSystem<?> system, List<String> streams, ServiceSettings settings) {
    this.system = system;
    this.streams = List.copyOf(streams);
    this.settings = settings;
  }

  /** Prints every stream's line every interval, from now on; nothing with an interval of zero. */
  void start() {
    if (settings.progressInterval.isZero()) return;
    for (String stream : streams) {
      long[] last = {window(stream).completed(), System.nanoTime()};
      system.scheduler().scheduleAtFixedRate(settings.progressInterval, settings.progressInterval, () -> {
        long now = System.nanoTime();
        long completed = window(stream).completed();
        if (completed < last[0]) last[0] = 0; // the consumer started again on this node: its counts begin anew
        double rate = (completed - last[0]) / ((now - last[1]) / 1e9);
        last[0] = completed;
        last[1] = now;
        print(stream, rate);
      }, system.executionContext());
    }
  }

  /** What the stream's lines end with from now on, such as {@code ", workload 40 writes"}. */
  void suffix(String stream, Supplier<String> suffix) {
    suffixes.put(stream, suffix);
  }

  /** Prints the stream's line now, with {@code rate}. */
  void print(String stream, double rate) {
    boolean runningHere = RunningPipelines.get(system).all().stream().anyMatch(entry -> entry.control().stream().equals(stream));
    // Still opening (taking its epoch, finding its start position): nothing to say yet.
    boolean opening = RunningPipelines.get(system).running(stream).map(control -> control.stats().startedFrom() == null).orElse(false);
    if (opening) return;
    Supplier<String> suffix = suffixes.get(stream);
    String line = line(stream, settings.standbyProgress, runningHere, window(stream), rate, suffix == null ? "" : suffix.get(),
        System.currentTimeMillis());
    if (line != null) StreamMdc.with(stream, () -> progress.info(line));
  }

  private WindowStats window(String stream) {
    return RunningPipelines.get(system).running(stream).map(control -> control.stats().window()).orElse(IDLE);
  }

  /**
   * The progress line of a stream, or null for none: a node on which the stream does not run and
   * never ran prints "standby" only if {@code standbyProgress}.
   */
  static String line(String stream, boolean standbyProgress, boolean runningHere, WindowStats window, double rate, String suffix,
      long nowMillis) {
    if (!runningHere && window.completed() == 0) {
      return standbyProgress ? stream + ": standby (the stream runs on another node)" + suffix : null;
    }
    long clusterSeconds = window.lastCompletedClusterTimeSeconds();
    String lag = clusterSeconds == 0 ? "-" : Math.max(0, nowMillis / 1000 - clusterSeconds) + "s";
    Checkpoint saved = window.lastSaved();
    String age = saved == null ? "-" : String.format("%.1fs", (nowMillis - window.lastSavedAtMillis()) / 1000.0);
    return String.format(
        "%s: %d events processed, %.1f events/s, lag %s, checkpoint age %s, in flight %d%s%s",
        stream, window.completed(), rate, lag, age, window.inFlight(), suffix, runningHere ? "" : " (no longer running here)");
  }
}
