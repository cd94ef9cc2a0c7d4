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
import io.tidemark.window.Completion;
import org.bson.BsonDocument;
import org.bson.BsonValue;

/**
 * Per-key ordered parallelism: events go to one of P lanes by the hash of their document's
 * {@code _id}, each lane runs its own materialization of the user's stages behind its own
 * {@link CompletionTracker}, and the lanes' completions merge back to the window. The lanes are
 * fused with the window (no asynchronous boundary): concurrency comes from the stages' own
 * asynchronous work, which is what a sink waits on; a CPU-heavy stage can add {@code .async()}
 * itself. Events of one document share a lane, so they never run concurrently and never out of
 * order; events of different documents run up to P at a time and finish in any order, which the
 * window is built for.
 */
final class Lanes {
  private Lanes() {}

  /** Room in front of each lane, so one busy lane does not hold up the others at once. */
  static final int LANE_BUFFER = 16;

  static Flow<ChangeEnvelope, Completion, NotUsed> create(
      int parallelism, Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> userStages, RunContext run) {
    if (parallelism == 1) return CompletionTracker.create(run).join(userStages);
    return Flow.fromGraph(
        GraphDSL.create(builder -> {
          UniformFanOutShape<ChangeEnvelope, ChangeEnvelope> split =
              builder.add(Partition.create(parallelism, (ChangeEnvelope envelope) -> lane(envelope.documentKey(), parallelism)));
          UniformFanInShape<Completion, Completion> merge = builder.add(Merge.create(parallelism));
          for (int i = 0; i < parallelism; i++) {
            FlowShape<ChangeEnvelope, Completion> lane = builder.add(
                Flow.<ChangeEnvelope>create()
                    .buffer(LANE_BUFFER, OverflowStrategy.backpressure())
                    .via(CompletionTracker.create(run).join(userStages)));
            builder.from(split.out(i)).via(lane).toInlet(merge.in(i));
          }
          return FlowShape.of(split.in(), merge.out());
        }));
  }

  /**
   * The lane of a document: by its {@code _id} alone, so that a copied document ({@code {_id}}) and
   * its change events (on a sharded collection {@code {shardKey..., _id}}) share a lane. Events
   * without a key (collection events) use lane 0.
   */
  static int lane(BsonDocument documentKey, int parallelism) {
    if (documentKey == null) return 0;
    BsonValue id = documentKey.get("_id");
    return Math.floorMod(id == null ? documentKey.hashCode() : id.hashCode(), parallelism);
  }
}
