package io.tidemark.pipeline;

import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.checkpoint.CheckpointReplica;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.source.ChangeStreamTarget;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.SnapshotSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.source.StartupMode;
import io.tidemark.window.WindowSettings;
import java.util.List;
import java.util.function.Consumer;
import org.bson.conversions.Bson;

/** What a pipeline is made of, but its stages; copied on every change, so builders never share mutable state. */
final class PipelineSpec implements Cloneable {
  String stream;
  String mongoUri;
  MongoClient mongoClient;
  ChangeStreamTarget target;
  List<Bson> match = List.of();
  FullDocument fullDocument;
  CheckpointStore checkpoints;
  ResumePosition configuredStart;
  WindowSettings windowSettings;
  SourceSettings sourceSettings;
  FailureSettings failureSettings;
  FaultSettings faultSettings;
  SnapshotSettings snapshotSettings;
  io.tidemark.source.IncrementalSnapshotSettings incrementalSnapshotSettings;
  StartupMode startup;
  Integer parallelism;
  DeadLetterStore deadLetters;
  CheckpointReplica replica;

  PipelineSpec with(Consumer<PipelineSpec> change) {
    try {
      PipelineSpec copy = (PipelineSpec) clone();
      change.accept(copy);
      return copy;
    } catch (CloneNotSupportedException e) {
      throw new AssertionError(e);
    }
  }
}
