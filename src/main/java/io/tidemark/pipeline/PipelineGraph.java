package io.tidemark.pipeline;

import akka.Done;
import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.RunnableGraph;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.StreamElement;
import io.tidemark.window.SafeTokenWindow;
import io.tidemark.window.WindowSettings;
import io.tidemark.window.WindowStats;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/**
 * One run of a pipeline as a graph: source → kill switch (the drain point) → the window joined
 * with the lanes of user stages → the saved checkpoints, ignored. Materializes to the kill switch
 * and the run's completion. Run it once: {@code run} is this run's shared state.
 */
final class PipelineGraph {
  private PipelineGraph() {}

  static RunnableGraph<Pair<UniqueKillSwitch, CompletionStage<Done>>> create(
      Source<StreamElement, ?> source,
      WindowSettings window,
      int parallelism,
      Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> userStages,
      Function<Checkpoint, CompletionStage<Done>> save,
      WindowStats stats,
      RunContext run) {
    return source
        .viaMat(KillSwitches.single(), Keep.right())
        .via(SafeTokenWindow.create(run.stream(), window, save, stats).join(Lanes.create(parallelism, userStages, run)))
        .toMat(Sink.ignore(), Keep.both());
  }
}
