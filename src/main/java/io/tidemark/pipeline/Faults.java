package io.tidemark.pipeline;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.ResumableErrors;

/** The faults a stream stopped on, explained: what happened, what the policy did, what a person can do. */
final class Faults {
  private Faults() {}

  static Throwable explain(String stream, Throwable error, FaultSettings faults) {
    if (error instanceof TidemarkException) return error;
    String cause = ResumableErrors.describe(error);
    return switch (ResumableErrors.classify(error)) {
      case HISTORY_LOST -> new TidemarkException(
          "stream '" + stream + "': history lost: its position is no longer in the oplog (" + cause + "). Policy on-history-lost = "
              + FaultSettings.label(faults.onHistoryLost) + ": stopped, checkpoint untouched. Set tidemark.pipeline.faults.on-history-lost"
              + " to restart-from-now or restart-from-oldest to go on (the gap is recorded), or rewind the checkpoint", error);
      case INVALID_TOKEN -> new TidemarkException(
          "stream '" + stream + "': the server refuses the resume token (" + cause + "). Policy on-invalid-token = "
              + FaultSettings.label(faults.onInvalidToken) + ": stopped, checkpoint untouched. Set tidemark.pipeline.faults.on-invalid-token"
              + " to restart-from-now or restart-from-oldest to go on (the gap is recorded), or rewind the checkpoint", error);
      case TOO_LARGE -> new TidemarkException(
          "stream '" + stream + "': an event is over the size limit (16 MB on a replica set; " + cause + "). Policy on-oversize-event = "
              + FaultSettings.label(faults.onOversizeEvent) + ": stopped, checkpoint untouched. Set tidemark.pipeline.faults.on-oversize-event"
              + " to skip (the event is recorded) or split (MongoDB 7.0+)", error);
      case NOT_A_REPLICA_SET -> new TidemarkException(
          "stream '" + stream + "': the server is not a replica set (" + cause + "): change streams need a replica set or a sharded"
              + " cluster; start mongod with --replSet and run rs.initiate(), or use the embedded default", error);
      default -> splitUnsupported(stream, error, faults);
    };
  }

  private static Throwable splitUnsupported(String stream, Throwable error, FaultSettings faults) {
    if (faults.onOversizeEvent == FaultSettings.Oversize.SPLIT
        && String.valueOf(error.getMessage()).contains("$changeStreamSplitLargeEvent")) {
      return new TidemarkException(
          "stream '" + stream + "': on-oversize-event = split needs $changeStreamSplitLargeEvent (MongoDB 7.0+), which this server"
              + " does not support (" + Errors.oneLine(error.getMessage()) + "); use fail or skip", error);
    }
    return error;
  }
}
