package io.tidemark.checkpoint;

import io.tidemark.TidemarkException;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The streams a store has open in this process: one pipeline per stream, so a second opening of a
 * stream is refused until the first record is closed.
 */
final class OpenStreams {
  private final Set<String> open = ConcurrentHashMap.newKeySet();

  /** The stream's record, made by {@code record}, unless the name is not a stream name or the stream is open already. */
  CompletionStage<StreamCheckpoints> open(String stream, Function<String, StreamCheckpoints> record) {
    StreamNames.validate(stream);
    if (!open.add(stream)) {
      return CompletableFuture.failedFuture(
          new TidemarkException("stream '" + stream + "' is already open in this process: run one pipeline per stream"));
    }
    return CompletableFuture.completedFuture(record.apply(stream));
  }

  /** The stream's record was closed: it may be opened again. */
  void closed(String stream) {
    open.remove(stream);
  }
}
