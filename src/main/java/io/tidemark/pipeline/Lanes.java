package io.tidemark.pipeline;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.FlowShape;
import akka.stream.OverflowStrategy;
import akka.stream.UniformFanInShape;
import akka.stream.UniformFanOutShape;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.GraphDSL;
import akka.stream.javadsl.Merge;
import akka.stream.javadsl.Partition;
import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;

/**
 * Per-key ordered parallelism: events go to one of P lanes by the hash of their documentKey, each
 * lane runs its own materialization of the user's stages behind its own {@link CompletionTracker},
 * and the lanes' completions merge back to the window. The lanes are fused with the window (no
 * asynchronous boundary): concurrency comes from the stages' own asynchronous work, which is what
 * a sink waits on; a CPU-heavy stage can add {@code .async()} itself. Events of one key share a lane, so they
 * never run concurrently and never out of order; events of different keys run up to P at a time
 * and finish in any order, which the window is built for.
 */
final class Lanes {
  private Lanes() {}

  /** Room in front of each lane, so one busy lane does not hold up the others at once. */
  static final int LANE_BUFFER = 16;

  static Flow<ChangeEnvelope, Long, NotUsed> create(
      int parallelism, Flow<Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, NotUsed> userStages) {
    if (parallelism == 1) return CompletionTracker.create().join(userStages);
    return Flow.fromGraph(
        GraphDSL.create(builder -> {
          UniformFanOutShape<ChangeEnvelope, ChangeEnvelope> split =
              builder.add(Partition.create(parallelism, (ChangeEnvelope envelope) -> lane(envelope.documentKey(), parallelism)));
          UniformFanInShape<Long, Long> merge = builder.add(Merge.create(parallelism));
          for (int i = 0; i < parallelism; i++) {
            FlowShape<ChangeEnvelope, Long> lane = builder.add(
                Flow.<ChangeEnvelope>create()
                    .buffer(LANE_BUFFER, OverflowStrategy.backpressure())
                    .via(CompletionTracker.create().join(userStages)));
            builder.from(split.out(i)).via(lane).toInlet(merge.in(i));
          }
          return FlowShape.of(split.in(), merge.out());
        }));
  }

  /** The lane of a key: stable for equal keys; events without a key (collection events) use lane 0. */
  static int lane(BsonDocument documentKey, int parallelism) {
    return documentKey == null ? 0 : Math.floorMod(documentKey.hashCode(), parallelism);
  }
}
