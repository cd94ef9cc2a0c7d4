package io.tidemark.service;

import akka.Done;
import com.mongodb.client.model.BulkWriteOptions;
import com.mongodb.client.model.DeleteOneModel;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.WriteModel;
import com.mongodb.client.model.changestream.UpdateDescription;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.mongodb.reactivestreams.client.MongoDatabase;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * The demo's sink: keeps {@code <collection>_view} equal to the source collection, and records in
 * {@code <collection>_ledger} how often each event was delivered (keyed by cluster time and
 * document id), which is what the audit counts duplicates and gaps with. Events are written in
 * batches (up to 256, or what arrived within 20 ms), in order, with one bulk write per collection;
 * applying a batch twice in order leaves the view as applying it once. The demo's stream
 * ({@code conf/demo.conf}) names it as its sink, {@code sink { type = demo-view }} ({@link DemoViewSinkFactory}).
 */
public final class OrdersView {
  private static final int BATCH = 256;
  private static final Duration BATCH_WINDOW = Duration.ofMillis(20);

  private final MongoCollection<Document> view;
  private final MongoCollection<Document> ledger;

  OrdersView(MongoDatabase database, String view, String ledger) {
    this.view = database.getCollection(view);
    this.ledger = database.getCollection(ledger);
  }

  /** The demo's stages after {@code pipeline}'s: batches of events, each applied with one bulk write per collection. */
  PipelineBuilder<Done> attach(PipelineBuilder<ChangeEnvelope> pipeline) {
    return pipeline.grouped(BATCH, BATCH_WINDOW).mapAsync(this::apply);
  }

  /** Applies the batch; when it completes, every event in it is done. */
  CompletionStage<Done> apply(List<ChangeEnvelope> batch) {
    List<WriteModel<Document>> viewWrites = new ArrayList<>();
    List<WriteModel<Document>> ledgerWrites = new ArrayList<>();
    for (ChangeEnvelope event : batch) {
      WriteModel<Document> write = viewWrite(event);
      if (write != null) viewWrites.add(write);
      ledgerWrites.add(ledgerWrite(event));
    }
    CompletionStage<?> views =
        viewWrites.isEmpty()
            ? CompletableFuture.completedFuture(Done.getInstance())
            : MongoConnector.first(view.bulkWrite(viewWrites, new BulkWriteOptions().ordered(true)));
    return views
        .thenCompose(written -> MongoConnector.first(ledger.bulkWrite(ledgerWrites, new BulkWriteOptions().ordered(false))))
        .thenApply(written -> Done.getInstance());
  }

  private static WriteModel<Document> viewWrite(ChangeEnvelope event) {
    BsonDocument key = event.documentKey();
    if (key == null) return null;
    Bson byId = Filters.eq("_id", key.get("_id"));
    switch (event.operationType()) {
      case "insert":
      case "replace":
        return new ReplaceOneModel<>(byId, event.fullDocument(), new ReplaceOptions().upsert(true));
      case "update":
        Bson update = updateOf(event);
        return update == null ? null : new UpdateOneModel<>(byId, update);
      case "delete":
        return new DeleteOneModel<>(byId);
      default:
        return null;
    }
  }

  private static Bson updateOf(ChangeEnvelope event) {
    List<Bson> updates = new ArrayList<>();
    UpdateDescription description = event.event().getUpdateDescription();
    if (description == null) return null;
    if (description.getUpdatedFields() != null) {
      description.getUpdatedFields().forEach((field, value) -> updates.add(Updates.set(field, value)));
    }
    if (description.getRemovedFields() != null) {
      description.getRemovedFields().forEach(field -> updates.add(Updates.unset(field)));
    }
    return updates.isEmpty() ? null : Updates.combine(updates);
  }

  /** An event's key in the ledger: its cluster time and document id, as one string. */
  static String ledgerKey(long clusterTime, Object id) {
    return clusterTime + "/" + (id instanceof org.bson.types.ObjectId oid ? oid.toHexString() : String.valueOf(id));
  }

  private static WriteModel<Document> ledgerWrite(ChangeEnvelope event) {
    BsonValue id = event.documentKey() == null ? null : event.documentKey().get("_id");
    long time = event.clusterTime() == null ? 0 : event.clusterTime().getValue();
    return new UpdateOneModel<>(
        Filters.eq("_id", ledgerKey(time, id == null ? null : id.isObjectId() ? id.asObjectId().getValue() : id)),
        Updates.combine(Updates.inc("n", 1), Updates.setOnInsert("op", event.operationType())),
        new UpdateOptions().upsert(true));
  }
}
