package io.tidemark.management;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.config.EscapingScheme;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.pipeline.PipelineStats;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.source.OplogSample;
import io.tidemark.window.WindowStats;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.ToDoubleFunction;

/**
 * The metrics of the streams running in an actor system, in a Prometheus registry, read from their
 * live figures at each scrape (nothing is counted twice). Served at {@code /metrics} on the
 * management port by {@link MetricsRoutes}; register your own metrics in {@link #registry()} to
 * serve them alongside. Every Tidemark metric has the label {@code stream}; the JVM's and the
 * process's (memory, GC, threads, classes, CPU, file descriptors) are served with them.
 */
@akka.annotation.InternalApi
public final class TidemarkMetrics implements Extension {
  private final PrometheusRegistry registry = new PrometheusRegistry();
  private final ExpositionFormats formats = ExpositionFormats.init();
  private final RunningPipelines pipelines;
  private final java.util.Set<String> configured = new java.util.concurrent.CopyOnWriteArraySet<>();

  private TidemarkMetrics(ActorSystem<?> system) {
    this.pipelines = RunningPipelines.get(system);
    JvmMetrics.builder().register(registry);
    counter("tidemark_events", "Events processed (completed by the user's stages).", stats -> stats.window().completed());
    gauge("tidemark_lag_seconds", "Now minus the cluster time of the newest processed event (or heartbeat, when quiet).",
        (stats, emit) -> {
          long seconds = stats.window().lastCompletedClusterTimeSeconds();
          if (seconds > 0) emit.accept(Math.max(0, System.currentTimeMillis() / 1000.0 - seconds), null);
        });
    gauge("tidemark_checkpoint_age_seconds", "Seconds since the newest durable checkpoint write.", (stats, emit) -> {
      long at = stats.window().lastSavedAtMillis();
      if (at > 0) emit.accept((System.currentTimeMillis() - at) / 1000.0, null);
    });
    gauge("tidemark_window_in_flight", "Events in the window: admitted and not yet behind the safe event.",
        (stats, emit) -> emit.accept((double) stats.window().inFlight(), null));
    gauge("tidemark_window_capacity",
        "The window's size N (tidemark.pipeline.window-size): the most events in flight at once; in flight over capacity is how full it is.",
        (stats, emit) -> {
          if (stats.window().capacity() > 0) emit.accept((double) stats.window().capacity(), null);
        });
    counter("tidemark_replayed_events", "Events admitted again after a restart in this process.", stats -> stats.window().replayed());
    counter("tidemark_restarts", "Restarts after a failing stage (retry policy).", PipelineStats::restarts);
    counter("tidemark_dead_letters", "Events recorded in the dead-letter store.", PipelineStats::deadLetters);
    counter("tidemark_gaps", "Gaps a fault policy recorded (history lost, invalid token, oversize event skipped).", PipelineStats::gaps);
    counter("tidemark_checkpoints_saved", "Durable checkpoint writes.", stats -> stats.window().saves());
    CounterWithCallback.builder()
        .name("tidemark_errors")
        .help("Failed MongoDB commands by server error code (or exception type), including those the driver resumed from.")
        .labelNames("stream", "code")
        .callback(callback -> each((stream, stats) -> {
          for (Map.Entry<String, Long> error : stats.errors().entrySet()) callback.call(error.getValue(), stream, error.getKey());
        }))
        .register(registry);
    gauge("tidemark_oplog_window_seconds", "Seconds of history the oplog holds (newest minus oldest entry).", (stats, emit) -> {
      OplogSample oplog = stats.oplog();
      if (oplog != null) emit.accept((double) oplog.windowSeconds(), null);
    });
    gauge("tidemark_oplog_headroom_seconds", "Oplog seconds between the oldest entry and the stream's checkpoint: how long until it falls off.",
        (stats, emit) -> {
          OplogSample oplog = stats.oplog();
          if (oplog != null && oplog.headroomSeconds() != null) emit.accept((double) oplog.headroomSeconds(), null);
        });
    gauge("tidemark_oplog_usage_ratio", "Fraction of the capped oplog in use, where the server reports it.", (stats, emit) -> {
      OplogSample oplog = stats.oplog();
      if (oplog != null && oplog.usage() != null) emit.accept(oplog.usage(), null);
    });
    counter("tidemark_snapshot_documents", "Documents read by snapshots (startup or re-snapshot).", stats -> stats.snapshot().documents());
    gauge("tidemark_snapshot_estimated_documents", "The collection's estimated document count when the snapshot started.",
        (stats, emit) -> {
          if (stats.snapshot().at() != null && stats.snapshot().estimated() >= 0) emit.accept((double) stats.snapshot().estimated(), null);
        });
    gauge("tidemark_snapshot_copied_documents", "Documents of the current (or last) snapshot copied, counting those before a resume.",
        (stats, emit) -> {
          if (stats.snapshot().at() != null) emit.accept((double) stats.snapshot().copied(), null);
        });
    gauge("tidemark_snapshot_running", "1 while a snapshot copies, 0 otherwise.",
        (stats, emit) -> emit.accept(stats.snapshot().running() ? 1.0 : 0.0, null));
    gauge("tidemark_snapshot_eta_seconds", "Seconds until the running snapshot is done, at its current rate.", (stats, emit) -> {
      Long eta = stats.snapshot().etaSeconds();
      if (eta != null) emit.accept((double) eta, null);
    });
    counter("tidemark_snapshot_overlap_events",
        "Change events made while a snapshot copied: possibly seen twice (copied, then as a change).",
        stats -> stats.snapshot().overlapEvents());
    gauge("tidemark_incremental_snapshot_running", "1 while an incremental snapshot request is in progress, 0 otherwise.",
        (stats, emit) -> emit.accept(stats.incrementalSnapshot().running() ? 1.0 : 0.0, null));
    gauge("tidemark_incremental_snapshot_paused", "1 while the incremental snapshot request in progress is paused, 0 otherwise.",
        (stats, emit) -> emit.accept(stats.incrementalSnapshot().paused() ? 1.0 : 0.0, null));
    gauge("tidemark_incremental_snapshot_copied_documents",
        "Documents of the current (or last) incremental snapshot request copied and done, counting those before a restart.", (stats, emit) -> {
          if (stats.incrementalSnapshot().collection() != null) emit.accept((double) stats.incrementalSnapshot().copied(), null);
        });
    gauge("tidemark_incremental_snapshot_chunks", "Chunks of the current (or last) incremental snapshot request done.", (stats, emit) -> {
      if (stats.incrementalSnapshot().collection() != null) emit.accept((double) stats.incrementalSnapshot().chunks(), null);
    });
    counter("tidemark_incremental_snapshot_rows", "Rows read by incremental snapshot chunks in this process.",
        stats -> stats.incrementalSnapshot().rowsRead());
    counter("tidemark_incremental_snapshot_dropped_rows",
        "Rows of incremental snapshot chunks dropped because a change event in the chunk's watermark window touched their key.",
        stats -> stats.incrementalSnapshot().rowsDropped());
    counter("tidemark_incremental_snapshot_requests_completed", "Incremental snapshot requests completed in this process.",
        stats -> stats.incrementalSnapshot().completed());
    counter("tidemark_incremental_snapshot_requests_stopped",
        "Incremental snapshot requests stopped (or otherwise ended before done) in this process.", stats -> stats.incrementalSnapshot().stopped());
    GaugeWithCallback.builder()
        .name("tidemark_stream_up")
        .help("1 while the stream runs on this node, 0 when it stopped on a failure here.")
        .labelNames("stream")
        .callback(callback -> pipelines.all().forEach(entry -> callback.call(entry.failed() ? 0 : 1, entry.control().stream())))
        .register(registry);
    GaugeWithCallback.builder()
        .name("tidemark_stream_configured")
        .help("1 for each stream this node's configuration declares (tidemark run), wherever it runs: for alerts on a stream no node runs.")
        .labelNames("stream")
        .callback(callback -> configured.forEach(stream -> callback.call(1, stream)))
        .register(registry);
  }

  /**
   * Declares the streams this node is configured with ({@code tidemark run}): each is exported as
   * {@code tidemark_stream_configured 1} whether it runs here, elsewhere or nowhere, so that an alert can
   * find a configured stream that no node runs ({@code tidemark_stream_up} has no series for it then).
   */
  public void configured(java.util.Collection<String> streams) {
    configured.addAll(streams);
  }

  public static TidemarkMetrics get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** The registry {@code /metrics} serves. */
  public PrometheusRegistry registry() {
    return registry;
  }

  /** A scrape's body and the content type of its format. */
  public record Exposition(String contentType, byte[] body) {}

  /**
   * The metrics in the format an HTTP {@code Accept} header asks for, as the Prometheus client
   * negotiates it: OpenMetrics 1.0 when the header accepts {@code application/openmetrics-text},
   * otherwise (no header, {@code text/plain}, {@code *}{@code /*}) the Prometheus text format 0.0.4.
   * The protobuf format is not built in: a header that asks for it gets OpenMetrics or text, by the
   * same rule, from what else it accepts.
   */
  public Exposition scrape(String accept) {
    ExpositionFormatWriter writer = formats.findWriter(accept);
    if (!writer.isAvailable()) {
      writer = formats.getOpenMetricsTextFormatWriter().accepts(accept)
          ? formats.getOpenMetricsTextFormatWriter()
          : formats.getPrometheusTextFormatWriter();
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      writer.write(out, registry.scrape(), EscapingScheme.fromAcceptHeader(accept));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return new Exposition(writer.getContentType(), out.toByteArray());
  }

  private void counter(String name, String help, ToDoubleFunction<PipelineStats> value) {
    CounterWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("stream")
        .callback(callback -> each((stream, stats) -> callback.call(value.applyAsDouble(stats), stream)))
        .register(registry);
  }

  /** A gauge that a stream may leave out (no value yet): emit.accept(value, null). */
  private void gauge(String name, String help, BiConsumer<PipelineStats, BiConsumer<Double, Void>> value) {
    GaugeWithCallback.builder()
        .name(name)
        .help(help)
        .labelNames("stream")
        .callback(callback -> each((stream, stats) -> value.accept(stats, (v, unused) -> callback.call(v, stream))))
        .register(registry);
  }

  private void each(BiConsumer<String, PipelineStats> action) {
    for (RunningPipelines.Entry entry : pipelines.all()) action.accept(entry.control().stream(), entry.control().stats());
  }

  static final class Id extends ExtensionId<TidemarkMetrics> {
    static final Id INSTANCE = new Id();

    @Override
    public TidemarkMetrics createExtension(ActorSystem<?> system) {
      return new TidemarkMetrics(system);
    }
  }
}
