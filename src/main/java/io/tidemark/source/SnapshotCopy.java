package io.tidemark.source;

import io.tidemark.StreamMdc;
import io.tidemark.connection.CommandTags;

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
import org.bson.BsonValue;
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
   * the change stream from the snapshot's time, opened only once the copy is done. A target of many
   * collections (a database, the deployment) copies them one after another in namespace order, from
   * the one the position names.
   */
  static Source<Incoming, NotUsed> copyThenStream(
      ChangeStreamSource.Definition definition, SourceState state, ResumePosition.Snapshot snapshot, akka.stream.Materializer materializer, ChangeStreamSource.Opener opener) {
    ChangeStreamTarget target = definition.target();
    boolean many = target.collection() == null;
    String what = many ? target.toString() : target.database() + "." + target.collection();
    Source<Incoming, NotUsed> documents = Source.completionStageSource(target.collections(definition.client()).thenCompose(all -> {
          // Those before the position's collection are done; the position's own goes on after its _id.
          List<com.mongodb.MongoNamespace> remaining = all.stream()
              .filter(namespace -> snapshot.namespace() == null || namespace.getFullName().compareTo(snapshot.namespace()) >= 0)
              .toList();
          List<com.mongodb.MongoNamespace> done = all.stream().filter(namespace -> !remaining.contains(namespace)).toList();
          CompletionStage<Long> estimated = sum(definition.stream(), all.stream().map(namespace -> collectionOf(definition, namespace).estimatedDocumentCount()).toList());
          List<org.reactivestreams.Publisher<Long>> before = new ArrayList<>();
          done.forEach(namespace -> before.add(collectionOf(definition, namespace).estimatedDocumentCount()));
          if (snapshot.after() != null && !remaining.isEmpty() && isAt(snapshot, remaining.get(0), many)) {
            before.add(collectionOf(definition, remaining.get(0)).countDocuments(com.mongodb.client.model.Filters.lte("_id", snapshot.after())));
          }
          return estimated.thenCombine(sum(definition.stream(), before), (total, copied) -> {
            definition.progress().started(snapshot.at(), total, copied, snapshot.after() == null && snapshot.namespace() == null);
            StreamMdc.info(log, definition.stream(), "stream '{}': {} {}: {} ({} documents, estimated; {} copied before{})", definition.stream(),
                snapshot.after() == null && snapshot.namespace() == null ? "copying" : "going on copying", what, snapshot.describe(),
                total, copied, many ? "; collections " + all.stream().map(com.mongodb.MongoNamespace::getFullName).toList() : "");
            Source<Incoming, NotUsed> copies = Source.empty();
            for (int i = 0; i < remaining.size(); i++) {
              com.mongodb.MongoNamespace namespace = remaining.get(i);
              BsonValue after = i == 0 && isAt(snapshot, namespace, many) ? snapshot.after() : null;
              String step = many ? " (" + (done.size() + i + 1) + " of " + all.size() + ")" : "";
              copies = copies.concatLazy(Source.lazySource(() -> copyOne(definition, state, snapshot.at(), namespace, many, after, step, materializer))
                  .mapMaterializedValue(future -> NotUsed.getInstance()));
            }
            return copies;
          });
        }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    Source<Incoming, NotUsed> complete = Source.lazyCompletionStage(() -> MongoConnector.first(CommandTags.forStream(definition.stream(),
                definition.client().getDatabase("admin").runCommand(new Document("ping", 1))))
            .thenApply(pong -> {
              org.bson.BsonTimestamp until = pong != null && pong.get("operationTime") instanceof org.bson.BsonTimestamp time ? time : null;
              SnapshotProgress progress = definition.progress();
              progress.completed();
              String note = "snapshot complete: " + progress.copied() + " documents of " + what + " copied; "
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

  /** One collection's documents still to copy (after {@code after}; all when null), each noting the position it reaches. */
  private static Source<Incoming, NotUsed> copyOne(
      ChangeStreamSource.Definition definition, SourceState state, org.bson.BsonTimestamp at, com.mongodb.MongoNamespace namespace,
      boolean many, BsonValue after, String step, akka.stream.Materializer materializer) {
    ResumePosition.Snapshot position = new ResumePosition.Snapshot(at, many ? namespace.getFullName() : null, null);
    if (many) StreamMdc.info(log, definition.stream(), "stream '{}': copying {}{}{}", definition.stream(), namespace, step,
        after == null ? "" : " after _id " + new BsonDocument("_id", after).toJson());
    return Source.completionStageSource(shardKey(definition, namespace).thenApply(key ->
            SnapshotScan.create(definition.stream(), definition.client(), namespace, at, after, definition.snapshot(), definition.progress(),
                    materializer)
                .map(document -> {
                  Object id = document.get("_id");
                  state.took(id == null ? null : ResumePosition.snapshot(at, position.namespace(), document.toBsonDocument().get("_id")));
                  return (Incoming) new Incoming.Copied(document, namespace, position, key);
                })))
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /** Whether the position stands in {@code namespace} (a single collection's position always does). */
  private static boolean isAt(ResumePosition.Snapshot snapshot, com.mongodb.MongoNamespace namespace, boolean many) {
    return !many || namespace.getFullName().equals(snapshot.namespace());
  }

  private static com.mongodb.reactivestreams.client.MongoCollection<Document> collectionOf(
      ChangeStreamSource.Definition definition, com.mongodb.MongoNamespace namespace) {
    return definition.client().getDatabase(namespace.getDatabaseName()).getCollection(namespace.getCollectionName());
  }

  /** The sum of counts (-1 when one cannot be told). */
  private static CompletionStage<Long> sum(String stream, List<org.reactivestreams.Publisher<Long>> counts) {
    CompletableFuture<Long> total = CompletableFuture.completedFuture(0L);
    for (org.reactivestreams.Publisher<Long> count : counts) {
      total = total.thenCombine(MongoConnector.first(CommandTags.forStream(stream, count)), (sum, one) -> sum < 0 || one == null ? -1L : sum + one);
    }
    return total;
  }

  /**
   * The collection's shard key, from {@code config.collections}; null when it is not sharded (or
   * when that cannot be read: then copies are keyed by {@code _id} alone, which is said once).
   */
  static CompletionStage<BsonDocument> shardKey(ChangeStreamSource.Definition definition, com.mongodb.MongoNamespace namespace) {
    return MongoConnector.first(CommandTags.forStream(definition.stream(),
            definition.client().getDatabase("config").getCollection("collections", BsonDocument.class)
                .find(new Document("_id", namespace.getFullName())).first()))
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
