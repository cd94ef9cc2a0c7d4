package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Errors;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A snapshot inside the stream: the documents still to copy (in {@code _id} order, from the last
 * one done), the marker that the copy is complete, then — unless snapshot-only — the change
 * stream from the snapshot's time, opened only once the copy is done.
 */
final class SnapshotCopy {
  private static final Logger log = LoggerFactory.getLogger(SnapshotCopy.class);

  private SnapshotCopy() {}

  /**
   * The documents still to copy, the marker that the copy is complete, then (unless snapshot-only)
   * the change stream from the snapshot's time, opened only once the copy is done.
   */
  static Source<Incoming, NotUsed> copyThenStream(
      ChangeStreamSource.Definition definition, SourceState state, ResumePosition.Snapshot snapshot, akka.stream.Materializer materializer, ChangeStreamSource.Opener opener) {
    ChangeStreamTarget target = definition.target();
    var collection = definition.client().getDatabase(target.database()).getCollection(target.collection());
    com.mongodb.MongoNamespace namespace = new com.mongodb.MongoNamespace(target.database(), target.collection());
    CompletionStage<Long> estimated = MongoConnector.first(collection.estimatedDocumentCount());
    CompletionStage<Long> before = snapshot.after() == null
        ? CompletableFuture.completedFuture(0L)
        : MongoConnector.first(collection.countDocuments(com.mongodb.client.model.Filters.lte("_id", snapshot.after())));
    CompletionStage<BsonDocument> shardKey = shardKey(definition, namespace);
    Source<Incoming, NotUsed> documents = Source.completionStageSource(estimated.thenCombine(before, (total, copied) -> {
          definition.progress().started(snapshot.at(), total == null ? -1 : total, copied == null ? 0 : copied, snapshot.after() == null);
          StreamMdc.info(log, definition.stream(), "stream '{}': {} {}: {} ({} documents, estimated; {} copied before)", definition.stream(),
              snapshot.after() == null ? "copying" : "going on copying", namespace, snapshot.describe(), total, copied);
          return SnapshotScan.create(definition.stream(), definition.client(), target, snapshot.at(), snapshot.after(), definition.snapshot(),
              definition.progress(), materializer);
        }).thenCombine(shardKey, (scan, key) -> scan.map(document -> {
                Object id = document.get("_id");
                state.took(id == null ? null : ResumePosition.snapshot(snapshot.at(), document.toBsonDocument().get("_id")));
                return (Incoming) new Incoming.Copied(document, snapshot, key);
              })))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    Source<Incoming, NotUsed> complete = Source.lazyCompletionStage(() -> MongoConnector.first(
                definition.client().getDatabase("admin").runCommand(new Document("ping", 1)))
            .thenApply(pong -> {
              org.bson.BsonTimestamp until = pong != null && pong.get("operationTime") instanceof org.bson.BsonTimestamp time ? time : null;
              SnapshotProgress progress = definition.progress();
              progress.completed();
              String note = "snapshot complete: " + progress.copied() + " documents of " + namespace + " copied; "
                  + (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY
                      ? "snapshot-only: the stream ends here" : "streaming from " + snapshot.stream().describe());
              StreamMdc.info(log, definition.stream(), "stream '{}': {} ({})", definition.stream(), note, progress.describe());
              state.took(snapshot.stream());
              return (Incoming) new Incoming.Copy(snapshot, until, note);
            }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    // concatLazy: plain concat would materialize and pull what follows at once, before the copy is done.
    Source<Incoming, NotUsed> copied = documents.concatLazy(complete);
    if (definition.snapshot().mode == StartupMode.SNAPSHOT_ONLY) return copied;
    return copied.concatLazy(Source.lazySource(() -> ReopeningSource.streamFrom(definition, state, snapshot.stream(), opener))
        .mapMaterializedValue(future -> NotUsed.getInstance()));
  }

  /**
   * The collection's shard key, from {@code config.collections}; null when it is not sharded (or
   * when that cannot be read: then copies are keyed by {@code _id} alone, which is said once).
   */
  static CompletionStage<BsonDocument> shardKey(ChangeStreamSource.Definition definition, com.mongodb.MongoNamespace namespace) {
    return MongoConnector.first(definition.client().getDatabase("config").getCollection("collections", BsonDocument.class)
            .find(new Document("_id", namespace.getFullName())).first())
        .handle((entry, error) -> {
          if (error != null) {
            StreamMdc.warn(log, definition.stream(), "stream '{}': could not read the shard key of {} from config.collections ({}); copied documents are keyed"
                + " by _id alone", definition.stream(), namespace, Errors.summary(Errors.unwrap(error)));
            return null;
          }
          return entry != null && entry.isDocument("key") && !entry.getBoolean("dropped", org.bson.BsonBoolean.FALSE).getValue()
              ? entry.getDocument("key")
              : null;
        });
  }
}
