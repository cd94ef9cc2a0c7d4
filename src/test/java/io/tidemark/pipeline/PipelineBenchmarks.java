package io.tidemark.pipeline;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Source;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.StreamElement;
import io.tidemark.window.WindowSettings;
import io.tidemark.window.WindowStats;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;

/** Opens the pipeline's graph to the benchmarks, which live in their own package. */
public final class PipelineBenchmarks {
  private PipelineBenchmarks() {}

  public static CompletionStage<Done> run(
      ActorSystem<?> system, Source<? extends StreamElement, ?> source, WindowSettings window, int parallelism,
      Function<ChangeEnvelope, Object> work, Function<Checkpoint, CompletionStage<Done>> save) {
    Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> userStages =
        Pipeline.named("bench").map(work).userStages();
    return PipelineGraph.create(source.map(element -> (StreamElement) element), window, parallelism, userStages, save, new WindowStats(), RunContext.of("bench"))
        .run(system).second();
  }
}
