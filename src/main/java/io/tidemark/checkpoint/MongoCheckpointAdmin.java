package io.tidemark.checkpoint;

import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoConnector;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.conversions.Bson;

/**
 * {@link CheckpointAdmin} over the documents of {@link MongoCheckpointStore}. A stream is held while
 * its document has {@code heldSince} (set when a consumer takes an epoch, cleared when it closes).
 * A rewind or reset is one {@code findOneAndUpdate} that also increments the epoch, so the consumer
 * that held the stream (if forced) is fenced out by the store's conditional saves.
 */
public final class MongoCheckpointAdmin implements CheckpointAdmin {
  private final MongoCollection<BsonDocument> collection;
  private final MongoCheckpointSettings settings;
  private final String location;

  public MongoCheckpointAdmin(MongoClient client, MongoCheckpointSettings settings) {
    this.settings = settings;
    this.collection = client.getDatabase(settings.database).getCollection(settings.collection, BsonDocument.class);
    this.location = settings.database + "." + settings.collection;
  }

  @Override
  public void ready() {
    await(MongoConnector.first(collection.estimatedDocumentCount()), "reach the checkpoint collection " + location);
  }

  @Override
  public List<String> streams() {
    List<BsonDocument> documents = await(
        MongoConnector.all(collection.find().projection(new BsonDocument("_id", new org.bson.BsonInt32(1))).sort(Sorts.ascending("_id"))),
        "list the streams in " + location);
    return documents.stream().map(d -> d.get("_id")).filter(BsonValue::isString).map(id -> id.asString().getValue()).toList();
  }

  @Override
  public StreamState state(String stream) {
    StreamNames.validate(stream);
    BsonDocument document = await(MongoConnector.first(collection.find(Filters.eq("_id", stream)).first()),
        "read the checkpoint of '" + stream + "' in " + location);
    if (document == null) throw unknown(stream);
    return describe(stream, document);
  }

  @Override
  public StreamState rewind(String stream, BsonDocument token, BsonTimestamp time, String note, boolean force) {
    return write(stream, Checkpoint.rewind(stream, token, time, note), force);
  }

  @Override
  public StreamState reset(String stream, String note, boolean force) {
    return write(stream, Checkpoint.reset(stream, note), force);
  }

  private StreamState write(String stream, Checkpoint checkpoint, boolean force) {
    StreamNames.validate(stream);
    List<Bson> updates = MongoCheckpointStore.recordUpdates(checkpoint, settings);
    updates.add(Updates.inc(MongoCheckpointStore.EPOCH, 1L));
    updates.add(Updates.unset("heldSince"));
    Bson filter = force ? Filters.eq("_id", stream) : Filters.and(Filters.eq("_id", stream), Filters.exists("heldSince", false));
    BsonDocument after = await(MongoConnector.first(collection.findOneAndUpdate(filter, Updates.combine(updates),
            new FindOneAndUpdateOptions().returnDocument(ReturnDocument.AFTER))),
        "write the checkpoint of '" + stream + "' in " + location);
    if (after != null) return describe(stream, after);
    StreamState current = state(stream); // unknown stream: says so
    throw new TidemarkException("refused: the consumer with epoch " + current.holder() + " holds the stream"
        + (current.heldSince() != null ? " (since " + current.heldSince() + ")" : "")
        + ": stop it first; a consumer that crashed never lets go: then pass --force, which fences it out");
  }

  private StreamState describe(String stream, BsonDocument document) {
    Optional<Checkpoint> checkpoint;
    String corruption = null;
    try {
      checkpoint = MongoCheckpointStore.decode(stream, document, settings);
    } catch (CorruptCheckpointException e) {
      checkpoint = Optional.empty();
      corruption = e.getMessage();
    }
    long epoch = document.isNumber(MongoCheckpointStore.EPOCH) ? document.getNumber(MongoCheckpointStore.EPOCH).longValue() : 0;
    Instant heldSince = document.isDateTime("heldSince") ? Instant.ofEpochMilli(document.getDateTime("heldSince").getValue()) : null;
    List<Checkpoint> history = MongoCheckpointStore.history(stream, document, settings);
    return new StreamState(stream, checkpoint, corruption, epoch, heldSince == null ? 0 : epoch, heldSince,
        document.isNumber("saves") ? document.getNumber("saves").longValue() : 0, history);
  }

  private TidemarkException unknown(String stream) {
    List<String> known = streams();
    return new TidemarkException("unknown stream '" + stream + "': " + location + " has "
        + (known.isEmpty() ? "no streams" : "these: " + String.join(", ", known)));
  }

  private <T> T await(CompletionStage<T> stage, String what) {
    long timeout = settings.timeout.toMillis();
    try {
      return stage.toCompletableFuture().get(timeout + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TidemarkException("interrupted while trying to " + what);
    } catch (ExecutionException | TimeoutException e) {
      throw new TidemarkException("could not " + what + " within " + settings.timeout.toSeconds() + "s: "
          + Errors.summary(Errors.unwrap(e)) + " (is MongoDB reachable at the URI given?)");
    }
  }
}
