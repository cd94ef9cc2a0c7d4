package io.tidemark.pipeline;

import akka.Done;
import java.util.List;
import java.util.concurrent.CompletionStage;

/** Where the {@code dead-letter} policy records the events it gave up on; every one can be listed. */
public interface DeadLetterStore {

  /** Completes once the dead letter is durable; until then the event is not done. */
  CompletionStage<Done> record(DeadLetter deadLetter);

  /** The dead letters of one stream, oldest first, at most {@code limit}. */
  CompletionStage<List<DeadLetter>> list(String stream, int limit);

  CompletionStage<Long> count(String stream);
}
