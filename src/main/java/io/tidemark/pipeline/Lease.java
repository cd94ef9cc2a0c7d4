package io.tidemark.pipeline;

import akka.Done;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.StreamCheckpoints;
import java.util.concurrent.CompletionStage;

/** A run's claim on its stream: the open checkpoint record and the fencing epoch it took; every save carries it. */
record Lease(StreamCheckpoints record, long epoch) {

  CompletionStage<Done> save(Checkpoint checkpoint) {
    return record.save(checkpoint, epoch);
  }
}
