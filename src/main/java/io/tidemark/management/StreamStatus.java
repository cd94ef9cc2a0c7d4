package io.tidemark.management;

import akka.actor.typed.ActorSystem;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.cluster.NodeStreams;
import io.tidemark.window.SafeTokenWindow;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.pipeline.RunningPipelines;
import io.tidemark.window.WindowStats;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One stream's figures as this node sees them: what the status endpoints and the progress line
 * show. Its state is {@code running}; {@code failed} (it stopped on a failure; a consumer in the
 * cluster restarts it from its checkpoint); or {@code stopped} (its consumer here stopped for good:
 * a failure a person must fix, or fenced out), each with its {@code failure}.
 */
@akka.annotation.InternalApi
public final class StreamStatus {
  private StreamStatus() {}

  /** Every stream this node runs, or saw stop on a failure, or whose consumer here stopped for good. */
  public static List<Map<String, Object>> local(ActorSystem<?> system) {
    Map<String, String> stopped = NodeStreams.get(system).stoppedForGood();
    List<Map<String, Object>> streams = new ArrayList<>();
    for (RunningPipelines.Entry entry : RunningPipelines.get(system).all()) {
      Map<String, Object> status = of(entry);
      String why = stopped.get(entry.control().stream());
      if (why != null && entry.failed()) {
        status.put("state", "stopped");
        status.put("failure", why);
      }
      streams.add(status);
    }
    // A consumer refused before its pipeline ran (no figures): only its name, state and why.
    stopped.forEach((stream, why) -> {
      if (streams.stream().noneMatch(status -> stream.equals(status.get("stream")))) {
        Map<String, Object> status = new LinkedHashMap<>();
        status.put("stream", stream);
        status.put("state", "stopped");
        status.put("failure", why);
        streams.add(status);
      }
    });
    return streams;
  }

  public static Map<String, Object> of(RunningPipelines.Entry entry) {
    PipelineControl control = entry.control();
    WindowStats window = control.stats().window();
    long nowMillis = System.currentTimeMillis();
    Map<String, Object> status = new LinkedHashMap<>();
    status.put("stream", control.stream());
    status.put("state", entry.failed() ? "failed" : "running");
    if (entry.failure() != null) status.put("failure", entry.failure());
    status.put("startedFrom", control.stats().startedFrom() == null ? null : control.stats().startedFrom().describe());
    status.put("eventsProcessed", window.completed());
    long clusterSeconds = window.lastCompletedClusterTimeSeconds();
    status.put("lagSeconds", clusterSeconds == 0 ? null : Math.max(0, nowMillis / 1000 - clusterSeconds));
    Checkpoint saved = window.lastSaved();
    status.put("checkpoint", saved == null ? null : saved.position().describe());
    status.put("checkpointAgeSeconds", saved == null ? null : (nowMillis - window.lastSavedAtMillis()) / 1000.0);
    io.tidemark.source.StreamElement safe = window.safe();
    Checkpoint safePosition = safe == null ? null : SafeTokenWindow.checkpointAt(control.stream(), safe);
    status.put("safeToken", safePosition == null || safePosition.resumeToken() == null ? null : safePosition.resumeToken().toJson());
    status.put("inFlight", window.inFlight());
    status.put("windowCapacity", window.capacity() == 0 ? null : window.capacity());
    status.put("restarts", control.stats().restarts());
    status.put("deadLetters", control.stats().deadLetters());
    status.put("replayedEvents", window.replayed());
    status.put("gaps", control.stats().gaps());
    io.tidemark.source.OplogSample oplog = control.stats().oplog();
    status.put("oplogWindowSeconds", oplog == null ? null : oplog.windowSeconds());
    status.put("oplogUsage", oplog == null ? null : oplog.usage());
    status.put("headroomSeconds", oplog == null ? null : oplog.headroomSeconds());
    status.put("recommendedCheckpointIntervalSeconds", oplog == null ? null : oplog.recommendedCheckpointIntervalSeconds());
    status.put("failedCommands", control.stats().errors());
    io.tidemark.source.SnapshotProgress snapshot = control.stats().snapshot();
    if (snapshot.at() != null) {
      Map<String, Object> copy = new LinkedHashMap<>();
      copy.put("state", snapshot.running() ? "copying" : "complete");
      copy.put("documentsCopied", snapshot.copied());
      copy.put("estimatedDocuments", snapshot.estimated() < 0 ? null : snapshot.estimated());
      copy.put("documentsPerSecond", snapshot.running() ? Math.round(snapshot.rate() * 10) / 10.0 : null);
      copy.put("etaSeconds", snapshot.etaSeconds());
      copy.put("overlapEvents", snapshot.overlapEvents());
      status.put("snapshot", copy);
    }
    io.tidemark.source.IncrementalSnapshotProgress incremental = control.stats().incrementalSnapshot();
    if (incremental.collection() != null) {
      Map<String, Object> copy = new LinkedHashMap<>();
      copy.put("state", incremental.state() == null ? "copying" : incremental.state());
      copy.put("request", incremental.request());
      copy.put("collection", incremental.collection());
      copy.put("documentsCopied", incremental.copied());
      copy.put("chunks", incremental.chunks());
      copy.put("rowsDropped", incremental.rowsDropped());
      copy.put("requestsCompleted", incremental.completed());
      copy.put("requestsStopped", incremental.stopped());
      status.put("incrementalSnapshot", copy);
    }
    return status;
  }
}
