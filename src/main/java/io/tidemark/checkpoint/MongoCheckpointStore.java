package io.tidemark.checkpoint;

import akka.Done;
import akka.actor.typed.ActorSystem;
import com.mongodb.MongoException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.connection.MongoConnector;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.conversions.Bson;

/**
 * Checkpoints in a MongoDB collection ({@code tidemark_checkpoints} by default), one document per
 * stream whose {@code _id} is the stream's name (the {@code _id} index is the unique index on the
 * name). Fencing is a conditional update: {@link StreamCheckpoints#acquire()} increments the
 * document's {@code epoch} atomically ({@code findOneAndUpdate} with {@code $inc}), and a save
 * matches only while the document's epoch is not newer than the writer's and its position not
 * later than the new one, so a fenced consumer's write and a backwards write change nothing.
 *
 * <p>The document also keeps the stream's history, routine entries (events, heartbeats) and notable
 * ones (gaps, invalidates, starts, rewinds) in two capped arrays, updated in the same write.
 *
 * <p>Use it when the checkpoints should live beside the data (one system less to run), or with
 * {@code MongoTransactionalSink}, whose transactions need them in the same replica set.
 */
public final class MongoCheckpointStore implements CheckpointStore {
  static final String EPOCH = "epoch";
  static final String AT = "at";

  private final MongoCollection<BsonDocument> collection;
  private final MongoCheckpointSettings settings;
  private final OpenStreams openStreams = new OpenStreams();
  private final AtomicLong writes = new AtomicLong();

  private MongoCheckpointStore(MongoClient client, MongoCheckpointSettings settings) {
    this.settings = settings;
    this.collection = client.getDatabase(settings.database).getCollection(settings.collection, BsonDocument.class);
  }

  public static MongoCheckpointStore create(MongoClient client, ActorSystem<?> system) {
    return create(client, MongoCheckpointSettings.create(system));
  }

  public static MongoCheckpointStore create(MongoClient client, MongoCheckpointSettings settings) {
    return new MongoCheckpointStore(client, settings);
  }

  /** Saves that reached the collection so far, over all streams (for benchmarks and tests). */
  public long writes() {
    return writes.get();
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    return openStreams.open(stream, Record::new);
  }

  private final class Record implements StreamCheckpoints {
    private final String stream;
    private volatile long heldEpoch;

    Record(String stream) {
      this.stream = stream;
    }

    @Override
    public String stream() {
      return stream;
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      Bson update = Updates.combine(
          Updates.inc(EPOCH, 1L), Updates.set("heldSince", new Date()), Updates.setOnInsert("stream", stream));
      return call("take an epoch", collection.findOneAndUpdate(
              Filters.eq("_id", stream), update, new FindOneAndUpdateOptions().upsert(true).returnDocument(ReturnDocument.AFTER)))
          .thenApply(document -> {
            long epoch = document.getNumber(EPOCH).longValue();
            heldEpoch = epoch;
            try {
              return new Acquired(epoch, decode(document));
            } catch (CorruptCheckpointException corrupt) {
              return new Acquired(epoch, Optional.empty(), corrupt);
            }
          });
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      return call("read the checkpoint", collection.find(Filters.eq("_id", stream)).first())
          .thenApply(document -> document == null ? Optional.empty() : decode(document));
    }

    @Override
    public CompletionStage<List<Checkpoint>> history() {
      return call("read the history", collection.find(Filters.eq("_id", stream)).first())
          .thenApply(document -> document == null ? List.of() : MongoCheckpointStore.history(stream, document, settings));
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (!checkpoint.stream().equals(stream)) {
        throw new IllegalArgumentException(
            "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
      }
      Checkpoint saved = checkpoint.withEpoch(epoch);
      List<Bson> conditions = new ArrayList<>(List.of(Filters.eq("_id", stream), Filters.lte(EPOCH, epoch)));
      // A gap may move back: a fault policy chose where the stream goes on (the oldest entry of the oplog can be older).
      if (saved.clusterTime() != null && saved.kind() != CheckpointKind.GAP) {
        conditions.add(Filters.or(Filters.exists(AT, false), Filters.lte(AT, saved.clusterTime().getValue())));
      }
      List<Bson> updates = recordUpdates(saved, settings);
      updates.add(Updates.max(EPOCH, epoch));
      updates.add(Updates.inc("saves", 1L));
      return call("save the checkpoint", collection.updateOne(Filters.and(conditions), Updates.combine(updates), new UpdateOptions()))
          .thenCompose(result -> {
            if (result.getMatchedCount() == 1) {
              writes.incrementAndGet();
              return CompletableFuture.completedFuture(Done.getInstance());
            }
            return refused(saved, epoch);
          });
    }

    /** Why a conditional save matched nothing, read back from the document. */
    private CompletionStage<Done> refused(Checkpoint saved, long epoch) {
      return call("read the checkpoint", collection.find(Filters.eq("_id", stream)).first()).thenApply(document -> {
        if (document == null) {
          throw new FencedException("stream '" + stream + "': checkpoint refused: the stream's record was deleted since epoch "
              + epoch + " was taken");
        }
        long current = document.getNumber(EPOCH).longValue();
        if (current > epoch) {
          throw new FencedException("stream '" + stream + "': checkpoint refused: another consumer has taken the stream (epoch "
              + current + " is newer than this consumer's " + epoch + ")");
        }
        throw new FencedException("stream '" + stream + "': checkpoint refused: it would move the checkpoint backwards (stored at "
            + (document.isInt64(AT) ? new BsonTimestamp(document.getInt64(AT).getValue()) : "?") + ", new at "
            + saved.clusterTime() + ")");
      });
    }

    @Override
    public CompletionStage<Done> close() {
      openStreams.closed(stream);
      long epoch = heldEpoch;
      if (epoch == 0) return CompletableFuture.completedFuture(Done.getInstance());
      return call("release the stream",
              collection.updateOne(Filters.and(Filters.eq("_id", stream), Filters.eq(EPOCH, epoch)), Updates.unset("heldSince")))
          .handle((result, error) -> Done.getInstance());
    }

    private Optional<Checkpoint> decode(BsonDocument document) {
      return MongoCheckpointStore.decode(stream, document, settings);
    }
  }

/** The checkpoint in a stream's document; empty when it has none (new, or reset). */
  static Optional<Checkpoint> decode(String stream, BsonDocument document, MongoCheckpointSettings settings) {
    if (!document.containsKey("kind") && !document.containsKey("token") && !document.containsKey("clusterTime")) {
      return Optional.empty();
    }
    Checkpoint checkpoint = checkpoint(stream, document, settings);
    return checkpoint.position() == null ? Optional.empty() : Optional.of(checkpoint);
  }

  /** One checkpoint (the current one, or a history entry) from its fields. */
  static Checkpoint checkpoint(String stream, BsonDocument document, MongoCheckpointSettings settings) {
    return CheckpointJson.fromDocument(stream, document, settings.database + "." + settings.collection);
  }

  /**
   * The stream's history in its document, oldest first: the routine and the notable entries
   * together; entries that do not parse are left out.
   */
  static List<Checkpoint> history(String stream, BsonDocument document, MongoCheckpointSettings settings) {
    List<Checkpoint> entries = new ArrayList<>();
    for (String field : new String[] {"history", "notable"}) {
      if (!document.isArray(field)) continue;
      for (BsonValue entry : document.getArray(field)) {
        if (!entry.isDocument()) continue;
        try {
          entries.add(checkpoint(stream, entry.asDocument(), settings));
        } catch (RuntimeException unreadable) {
          // left out, as StreamCheckpoints.history() says
        }
      }
    }
    entries.sort(Comparator.comparing(Checkpoint::savedAt));
    return entries;
  }

  /**
   * The updates that make {@code checkpoint} the document's current one and append it to its
   * history: routine entries (events, heartbeats) and notable ones in two arrays, each capped.
   */
  static List<Bson> recordUpdates(Checkpoint checkpoint, MongoCheckpointSettings settings) {
    BsonDocument fields = encode(checkpoint);
    boolean routine = checkpoint.kind() == CheckpointKind.EVENT || checkpoint.kind() == CheckpointKind.HEARTBEAT;
    List<Bson> updates = new ArrayList<>();
    for (String field : fields.keySet()) updates.add(Updates.set(field, fields.get(field)));
    if (checkpoint.clusterTime() == null) updates.add(Updates.unset(AT));
    updates.add(Updates.pushEach(routine ? "history" : "notable", List.of(fields),
        new com.mongodb.client.model.PushOptions().slice(-settings.historySize)));
    return updates;
  }

  private static BsonDocument encode(Checkpoint checkpoint) {
    BsonDocument fields = new BsonDocument();
    fields.put("token", checkpoint.resumeToken() == null ? org.bson.BsonNull.VALUE : checkpoint.resumeToken());
    fields.put("clusterTime", checkpoint.clusterTime() == null ? org.bson.BsonNull.VALUE : checkpoint.clusterTime());
    if (checkpoint.clusterTime() != null) fields.put(AT, new BsonInt64(checkpoint.clusterTime().getValue()));
    fields.put("savedAt", new org.bson.BsonDateTime(checkpoint.savedAt().toEpochMilli()));
    fields.put("savedEpoch", new BsonInt64(checkpoint.epoch()));
    fields.put("kind", new org.bson.BsonString(checkpoint.kind().label()));
    fields.put("note", checkpoint.note() == null ? org.bson.BsonNull.VALUE : new org.bson.BsonString(checkpoint.note()));
    // Snapshot progress ({} or {_id: last copied}) as BSON, which keeps the _id's type.
    fields.put("snapshot", checkpoint.snapshot() == null ? org.bson.BsonNull.VALUE : checkpoint.snapshot());
    return fields;
  }

  /** A driver call, bounded in time; the driver's connection errors become "unavailable". */
  private <T> CompletionStage<T> call(String what, org.reactivestreams.Publisher<T> publisher) {
    return MongoConnector.first(publisher)
        .orTimeout(settings.timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(error -> {
          Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
          if (cause instanceof MongoTimeoutException || cause instanceof MongoSocketException
              || cause instanceof java.util.concurrent.TimeoutException) {
            throw new CheckpointStoreUnavailableException(
                "could not " + what + " in " + settings.database + "." + settings.collection + " within " + settings.timeout.toMillis()
                    + " ms: " + cause.getClass().getSimpleName(), cause);
          }
          if (cause instanceof MongoException mongo) {
            throw new CheckpointStoreUnavailableException(
                "could not " + what + " in " + settings.database + "." + settings.collection + ": code " + mongo.getCode() + " "
                    + mongo.getMessage(), cause);
          }
          throw error instanceof CompletionException completion ? completion : new CompletionException(cause);
        });
  }
}
