package io.tidemark.source;

import akka.NotUsed;
import akka.stream.alpakka.mongodb.javadsl.MongoSource;
import akka.stream.javadsl.RestartSource;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The change stream of one target as a source of {@link ChangeEnvelope}s: Alpakka's
 * {@link MongoSource} over {@code watch()}, opened at the initial position and, after a resumable
 * error, reopened with capped backoff from the last token it delivered downstream — so a restart
 * neither skips nor repeats an event. Errors that are not resumable fail the source.
 */
public final class ChangeStreamSource {
  private static final Logger log = LoggerFactory.getLogger(ChangeStreamSource.class);

  private ChangeStreamSource() {}

  /**
   * @param initialPosition asked once per materialization, for the first opening
   * @param restartable which failures reopen the stream (resumable errors, a store that is down)
   */
  public static Source<ChangeEnvelope, NotUsed> create(
      String stream,
      MongoClient client,
      ChangeStreamTarget target,
      List<Bson> pipeline,
      FullDocument fullDocument,
      SourceSettings settings,
      Supplier<CompletionStage<ResumePosition>> initialPosition,
      Predicate<Throwable> restartable) {
    return Source.fromMaterializer(
            (mat, attributes) -> {
              AtomicReference<ResumePosition> initial = new AtomicReference<>();
              AtomicReference<ResumePosition> lastDelivered = new AtomicReference<>();
              AtomicLong seqNr = new AtomicLong();
              Source<com.mongodb.client.model.changestream.ChangeStreamDocument<Document>, NotUsed> restarting =
                  RestartSource.onFailuresWithBackoff(
                      settings.restartSettings().withRestartOn(error -> restarts(stream, error, restartable)),
                      () ->
                          Source.completionStageSource(
                                  position(stream, initial, lastDelivered, initialPosition)
                                      .thenApply(
                                          position -> {
                                            ChangeStreamPublisher<Document> publisher =
                                                target
                                                    .watch(client, pipeline)
                                                    .batchSize(settings.batchSize)
                                                    .maxAwaitTime(settings.maxAwaitTime.toMillis(), TimeUnit.MILLISECONDS);
                                            if (fullDocument != null) publisher = publisher.fullDocument(fullDocument);
                                            return MongoSource.create(position.applyTo(publisher));
                                          }))
                              .mapMaterializedValue(future -> NotUsed.getInstance()));
              return restarting.map(
                  event -> {
                    ChangeEnvelope envelope = ChangeEnvelope.of(seqNr.incrementAndGet(), event);
                    lastDelivered.set(ResumePosition.resumeAfter(envelope.resumeToken()));
                    return envelope;
                  });
            })
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  private static CompletionStage<ResumePosition> position(
      String stream,
      AtomicReference<ResumePosition> initial,
      AtomicReference<ResumePosition> lastDelivered,
      Supplier<CompletionStage<ResumePosition>> initialPosition) {
    ResumePosition delivered = lastDelivered.get();
    if (delivered != null) {
      log.info("stream '{}': reopening the change stream from the last delivered token: {}", stream, delivered.describe());
      return CompletableFuture.completedFuture(delivered);
    }
    ResumePosition known = initial.get();
    if (known != null) {
      log.info("stream '{}': reopening the change stream at its initial position: {}", stream, known.describe());
      return CompletableFuture.completedFuture(known);
    }
    return initialPosition
        .get()
        .thenApply(
            position -> {
              initial.set(position);
              return position;
            });
  }

  /** Decides, for a failure of the change stream itself, whether to reopen it; says which. */
  private static boolean restarts(String stream, Throwable error, Predicate<Throwable> restartable) {
    boolean restart = restartable.test(error);
    if (restart) {
      log.warn("stream '{}': {}; reopening the change stream with backoff", stream, ResumableErrors.describe(error));
    } else {
      log.error("stream '{}': {}; not resumable, stopping", stream, ResumableErrors.describe(error));
    }
    return restart;
  }
}
