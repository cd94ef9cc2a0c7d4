package io.tidemark.checkpoint;

import java.util.concurrent.CompletionStage;

/**
 * Durable checkpoints, one independent record per stream name. A pipeline opens its stream once;
 * while it is open nothing else in this process writes that stream's record.
 */
public interface CheckpointStore {

  /** Opens the record of one stream for this pipeline run; refused while it is already open here. */
  CompletionStage<StreamCheckpoints> open(String stream);
}
