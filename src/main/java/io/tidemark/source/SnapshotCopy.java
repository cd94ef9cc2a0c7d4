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
   * the one the position names, when the parallelism is 1; above 1, up to C chunks at a time across
   * its collections.
   */
  static Source<Incoming, NotUsed> copyThenStream(
      ChangeStreamSource.Definition definition, SourceState state, ResumePosition.Snapshot snapshot, ChangeStreamSource.Opener opener) {
    ChangeStreamTarget target = definition.target();
    boolean many = target.collection() == null;
    String what = many ? target.toString() : target.database() + "." + target.collection();
    // Several collections at once when the parallelism allows, or when the position was saved by such a copy.
    boolean across = many && (snapshot.collections() != null || definition.snapshot().parallelism > 1);
    Source<List<Incoming>, NotUsed> batches = across ? acrossCollections(definition, snapshot, what)
        : Source.completionStageSource(target.collections(definition.client()).thenCompose(all -> {
          // Those before the position's collection are done; the position's own goes on after its _id.
          List<com.mongodb.MongoNamespace> remaining = all.stream()
              .filter(namespace -> snapshot.namespace() == null || namespace.getFullName().compareTo(snapshot.namespace()) >= 0)
              .toList();
          List<com.mongodb.MongoNamespace> done = all.stream().filter(namespace -> !remaining.contains(namespace)).toList();
          CompletionStage<Long> estimated = sum(definition.stream(), all.stream().map(namespace -> collectionOf(definition, namespace).estimatedDocumentCount()).toList());
          List<org.reactivestreams.Publisher<Long>> before = new ArrayList<>();
          done.forEach(namespace -> before.add(collectionOf(definition, namespace).estimatedDocumentCount()));
          boolean fresh = snapshot.fresh();
          if (!remaining.isEmpty() && isAt(snapshot, remaining.get(0), many)) {
            Bson copiedThere = snapshot.chunks() != null ? SnapshotChunks.copiedFilter(snapshot.chunks())
                : snapshot.after() != null ? com.mongodb.client.model.Filters.lte("_id", snapshot.after()) : null;
            if (copiedThere != null) before.add(collectionOf(definition, remaining.get(0)).countDocuments(copiedThere));
          }
          return estimated.thenCombine(sum(definition.stream(), before), (total, copied) -> {
            definition.progress().started(snapshot.at(), total, copied, fresh);
            StreamMdc.info(log, definition.stream(), "stream '{}': {} {}: {} ({} documents, estimated; {} copied before{})", definition.stream(),
                fresh ? "copying" : "going on copying", what, snapshot.describe(),
                total, copied, many ? "; collections " + all.stream().map(com.mongodb.MongoNamespace::getFullName).toList() : "");
            Source<List<Incoming>, NotUsed> copies = Source.empty();
            for (int i = 0; i < remaining.size(); i++) {
              com.mongodb.MongoNamespace namespace = remaining.get(i);
              ResumePosition.Snapshot there = i == 0 && isAt(snapshot, namespace, many) ? snapshot : null;
              String step = many ? " (" + (done.size() + i + 1) + " of " + all.size() + ")" : "";
              copies = copies.concatLazy(Source.lazySource(() -> copyOne(definition, snapshot.at(), namespace, many, there, step))
                  .mapMaterializedValue(future -> NotUsed.getInstance()));
            }
            return copies;
          });
        }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
    // One document (or one batch copied elsewhere) at a time only here, past the copy's layers of sources; each is taken (a reopen
    // goes on after it) as it leaves.
    Source<Incoming, NotUsed> documents = batches.mapConcat(batch -> batch).map(element -> {
      if (element instanceof Incoming.CopiedBatch copiedElsewhere) {
        state.took(copiedElsewhere.snapshot());
      } else {
        Incoming.Copied copied = (Incoming.Copied) element;
        if (copied.document().get("_id") == null) state.took(null);
        else state.tookCopied(copied);
      }
      return element;
    });
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

  /** A collection's chunk to copy in a copy of many collections at once: chunk {@code chunk} of {@code chunks}. */
  private record Work(com.mongodb.MongoNamespace namespace, List<ResumePosition.Chunk> chunks, int chunk, BsonDocument key) {}

  /** A batch a chunk of many collections' read, or a batch copy workers copied (both null: the chunk's end). */
  private record Taken(Work work, List<Document> documents, ChunkCopier.Copied batch) {}

  /**
   * The documents of many collections still to copy, up to {@code parallelism} chunks at a time
   * across collections: the collections in namespace order, each split into chunks as it starts
   * (or going on with the chunks the position keeps), their chunks drawn C at a time; each document
   * carries the position of the whole copy at its place in the merged order.
   */
  private static Source<List<Incoming>, NotUsed> acrossCollections(
      ChangeStreamSource.Definition definition, ResumePosition.Snapshot snapshot, String what) {
    SnapshotSettings settings = definition.snapshot();
    return Source.completionStageSource(definition.target().collections(definition.client()).thenCompose(all -> {
          ResumePosition.Snapshot from = SnapshotChunks.acrossCollections(snapshot, all.stream().map(com.mongodb.MongoNamespace::getFullName).toList());
          java.util.Map<String, List<ResumePosition.Chunk>> begun = new java.util.HashMap<>();
          from.collections().forEach(collection -> begun.put(collection.namespace(), collection.chunks()));
          List<com.mongodb.MongoNamespace> remaining = all.stream().filter(namespace -> !from.done().contains(namespace.getFullName())).toList();
          CompletionStage<Long> estimated = sum(definition.stream(), all.stream().map(namespace -> collectionOf(definition, namespace).estimatedDocumentCount()).toList());
          List<org.reactivestreams.Publisher<Long>> before = new ArrayList<>();
          for (com.mongodb.MongoNamespace namespace : all) {
            if (from.done().contains(namespace.getFullName())) {
              before.add(collectionOf(definition, namespace).estimatedDocumentCount());
            } else if (begun.containsKey(namespace.getFullName())) {
              Bson copiedThere = SnapshotChunks.copiedFilter(begun.get(namespace.getFullName()));
              if (copiedThere != null) before.add(collectionOf(definition, namespace).countDocuments(copiedThere));
            }
          }
          return estimated.thenCombine(sum(definition.stream(), before), (total, copied) -> {
            definition.progress().started(snapshot.at(), total, copied, snapshot.fresh());
            StreamMdc.info(log, definition.stream(), "stream '{}': {} {}, up to {} chunks at a time across collections{}: {} ({} documents, estimated;"
                    + " {} copied before; collections {})", definition.stream(), snapshot.fresh() ? "copying" : "going on copying", what,
                settings.parallelism, settings.copyWorkers == null ? "" : " by the copy workers", from.describe(), total, copied,
                all.stream().map(com.mongodb.MongoNamespace::getFullName).toList());
            SnapshotChunks.Across merged = new SnapshotChunks.Across(from);
            return Source.from(remaining)
                .flatMapConcat(namespace -> chunksOf(definition, namespace, begun.get(namespace.getFullName()), all.indexOf(namespace) + 1, all.size()))
                .flatMapMerge(settings.parallelism, work -> (settings.copyWorkers != null
                        ? ChunkBatches.of(settings.copyWorkers, definition.stream(), work.namespace(), snapshot.at(), work.chunk(),
                            work.chunks().get(work.chunk()), settings, definition.progress(), work.key()).map(batch -> new Taken(work, null, batch))
                        : SnapshotScan.create(definition.stream(), definition.client(), work.namespace(), snapshot.at(),
                            work.chunks().get(work.chunk()), settings, definition.progress()).map(documents -> new Taken(work, documents, null)))
                    .concat(Source.single(new Taken(work, null, null))))
                .map(taken -> {
                  Work work = taken.work();
                  String ns = work.namespace().getFullName();
                  if (taken.batch() != null) {
                    ResumePosition.Snapshot position = merged.copied(ns, work.chunks(), work.chunk(), taken.batch().last());
                    return List.<Incoming>of(new Incoming.CopiedBatch(work.namespace(), position, taken.batch().count()));
                  }
                  if (taken.documents() == null) {
                    merged.finished(ns, work.chunks(), work.chunk());
                    return List.<Incoming>of();
                  }
                  List<Incoming> copies = new ArrayList<>(taken.documents().size());
                  for (Document document : taken.documents()) {
                    BsonValue id = DocumentIds.of(document);
                    ResumePosition.Snapshot position = id == null ? merged.position() : merged.copied(ns, work.chunks(), work.chunk(), id);
                    copies.add(new Incoming.Copied(document, work.namespace(), position, work.key()));
                  }
                  return copies;
                });
          });
        }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /**
   * A collection's chunks not done, as work: those the position keeps ({@code kept}), else found when
   * its copy starts (one range when the parallelism is 1).
   */
  private static Source<Work, NotUsed> chunksOf(
      ChangeStreamSource.Definition definition, com.mongodb.MongoNamespace namespace, List<ResumePosition.Chunk> kept, int step, int of) {
    SnapshotSettings settings = definition.snapshot();
    CompletionStage<List<ResumePosition.Chunk>> chunks;
    if (kept != null) {
      chunks = CompletableFuture.completedFuture(kept);
    } else if (settings.parallelism < 2) {
      chunks = CompletableFuture.completedFuture(ResumePosition.Chunk.between(List.of()));
    } else {
      chunks = SnapshotChunks.plan(definition.stream(), definition.client(), namespace, settings).thenApply(plan -> {
        StreamMdc.info(log, definition.stream(), "stream '{}': {} split into {} chunks {}", definition.stream(), namespace, plan.chunks().size(), plan.how());
        return plan.chunks();
      });
    }
    return Source.completionStageSource(shardKey(definition, namespace).thenCombine(chunks, (key, plan) -> {
          StreamMdc.info(log, definition.stream(), "stream '{}': copying {} ({} of {}){}", definition.stream(), namespace, step, of,
              kept == null ? "" : ": going on with its " + kept.size() + " chunks");
          List<Work> work = new ArrayList<>();
          for (int i = 0; i < plan.size(); i++) if (!plan.get(i).done()) work.add(new Work(namespace, plan, i, key));
          return Source.from(work);
        }))
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /**
   * One collection's documents still to copy, each noting the position it reaches: from where
   * {@code resume} stands in it (null: from the start). A fresh copy with parallelism above 1 is split
   * into chunks first; a position of one cursor ({@code {_id}}) goes on as one cursor.
   */
  private static Source<List<Incoming>, NotUsed> copyOne(
      ChangeStreamSource.Definition definition, org.bson.BsonTimestamp at, com.mongodb.MongoNamespace namespace,
      boolean many, ResumePosition.Snapshot resume, String step) {
    String ns = many ? namespace.getFullName() : null;
    SnapshotSettings settings = definition.snapshot();
    CompletionStage<List<ResumePosition.Chunk>> chunks;
    if (resume != null && resume.chunks() != null) {
      chunks = CompletableFuture.completedFuture(resume.chunks());
    } else if (resume != null && resume.after() != null || settings.parallelism < 2) {
      chunks = CompletableFuture.completedFuture(null);
    } else {
      chunks = SnapshotChunks.plan(definition.stream(), definition.client(), namespace, settings).thenApply(plan -> {
        StreamMdc.info(log, definition.stream(), "stream '{}': {} split into {} chunks {}, {} at a time{}", definition.stream(), namespace,
            plan.chunks().size(), plan.how(), settings.parallelism, settings.copyWorkers == null ? "" : ", their batches copied by the copy workers");
        return plan.chunks().size() > 1 ? plan.chunks() : null;
      });
    }
    BsonValue after = resume == null ? null : resume.after();
    if (many) StreamMdc.info(log, definition.stream(), "stream '{}': copying {}{}{}", definition.stream(), namespace, step,
        resume == null ? "" : ": " + resume.describe());
    return Source.completionStageSource(shardKey(definition, namespace).thenCombine(chunks, (key, plan) -> plan != null
            ? chunked(definition, at, namespace, ns, plan, key)
            : settings.copyWorkers != null // copy workers copy one range as one chunk
            ? chunked(definition, at, namespace, ns, List.of(new ResumePosition.Chunk(null, null, after, false)), key)
            : single(definition, at, namespace, ns, after, key)))
        .mapMaterializedValue(future -> NotUsed.getInstance());
  }

  /** One cursor in {@code _id} order, after {@code after} (null: from the first). */
  private static Source<List<Incoming>, NotUsed> single(
      ChangeStreamSource.Definition definition, org.bson.BsonTimestamp at, com.mongodb.MongoNamespace namespace,
      String ns, BsonValue after, BsonDocument key) {
    ResumePosition.Snapshot position = new ResumePosition.Snapshot(at, ns, null);
    return SnapshotScan.create(definition.stream(), definition.client(), namespace, at, after, definition.snapshot(), definition.progress())
        .map(batch -> {
          List<Incoming> copies = new ArrayList<>(batch.size());
          for (Document document : batch) copies.add(new Incoming.Copied(document, namespace, position, key));
          return copies;
        });
  }

  /** A batch a chunk read, or a batch copy workers copied (both null: the chunk's end). */
  private record Read(int chunk, List<Document> documents, ChunkCopier.Copied batch) {}

  /**
   * The chunks not yet done, up to {@code parallelism} read at a time, their documents merged; each
   * document carries the position of the whole copy at its place in the merged order. With copy
   * workers, each chunk's batches are copied by them and each answer stands for its batch.
   */
  private static Source<List<Incoming>, NotUsed> chunked(
      ChangeStreamSource.Definition definition, org.bson.BsonTimestamp at, com.mongodb.MongoNamespace namespace,
      String ns, List<ResumePosition.Chunk> chunks, BsonDocument key) {
    SnapshotChunks.Merged merged = new SnapshotChunks.Merged(at, ns, chunks);
    List<Integer> open = new ArrayList<>();
    for (int i = 0; i < chunks.size(); i++) if (!chunks.get(i).done()) open.add(i);
    ChunkCopier workers = definition.snapshot().copyWorkers;
    return Source.from(open)
        .flatMapMerge(definition.snapshot().parallelism, i -> (workers != null
                ? ChunkBatches.of(workers, definition.stream(), namespace, at, i, chunks.get(i), definition.snapshot(), definition.progress(), key)
                    .map(batch -> new Read(i, null, batch))
                : SnapshotScan.create(definition.stream(), definition.client(), namespace, at, chunks.get(i), definition.snapshot(),
                    definition.progress()).map(documents -> new Read(i, documents, null)))
            .concat(Source.single(new Read(i, null, null))))
        .map(read -> {
          if (read.batch() != null) {
            ResumePosition.Snapshot position = merged.copied(read.chunk(), read.batch().last());
            return List.<Incoming>of(new Incoming.CopiedBatch(namespace, position, read.batch().count()));
          }
          if (read.documents() == null) {
            merged.finished(read.chunk());
            return List.<Incoming>of();
          }
          List<Incoming> copies = new ArrayList<>(read.documents().size());
          for (Document document : read.documents()) {
            BsonValue id = DocumentIds.of(document);
            copies.add(new Incoming.Copied(document, namespace, id == null ? merged.position() : merged.copied(read.chunk(), id), key));
          }
          return copies;
        });
  }

  /**
   * Where a reopen goes on after a copied document: the copy's position with it (a chunked copy's
   * document carries it; a one-cursor copy's is after its {@code _id}); null for one without an
   * {@code _id} (a reopen goes on where it was).
   */
  static ResumePosition positionAfter(Incoming.Copied copied) {
    ResumePosition.Snapshot position = copied.snapshot();
    if (position.chunks() != null || position.collections() != null) return copied.document().get("_id") == null ? null : position;
    BsonValue id = DocumentIds.of(copied.document());
    return id == null ? null : ResumePosition.snapshot(position.at(), position.namespace(), id);
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
