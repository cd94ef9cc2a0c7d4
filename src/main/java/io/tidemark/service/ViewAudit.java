package io.tidemark.service;

import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.Filters;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoDatabase;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletionStage;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * The demo's audit: did the pipeline deliver every event of the source collection, and does the
 * view equal the source?
 *
 * <ul>
 *   <li><b>missing</b>: events in the oplog for the source collection that the ledger never saw,
 *       plus documents whose view differs from the source (absent, stale, or not deleted);
 *   <li><b>duplicates</b>: deliveries beyond the first, over all events;
 *   <li><b>processed</b>: distinct events delivered.
 * </ul>
 *
 * Where the oplog cannot be read (a server without access to {@code local}), only the view is
 * compared, and {@link Result#oplogChecked} says so.
 */
public final class ViewAudit {
  private ViewAudit() {}

  public record Result(long missing, long duplicates, long processed, long missingEvents, long viewMismatches, boolean oplogChecked) {
    public String line() {
      return "missing=" + missing + " duplicates=" + duplicates + " processed=" + processed;
    }
  }

  public static CompletionStage<Result> run(ActorSystem<?> system, MongoClient client, DemoSettings settings) {
    MongoDatabase database = client.getDatabase(settings.database);
    String namespace = settings.database + "." + settings.collection;
    CompletionStage<List<Document>> oplogEntries =
        all(system, client.getDatabase("local").getCollection("oplog.rs").find(Filters.eq("ns", namespace)))
            .exceptionally(error -> null);
    CompletionStage<List<Document>> ledger = all(system, database.getCollection(settings.ledgerCollection()).find());
    CompletionStage<List<Document>> source = all(system, database.getCollection(settings.collection).find());
    CompletionStage<List<Document>> view = all(system, database.getCollection(settings.viewCollection()).find());
    return oplogEntries.thenCompose(oplog -> ledger.thenCompose(delivered -> source.thenCombine(view, (src, dst) ->
        audit(oplog, delivered, src, dst))));
  }

  private static CompletionStage<List<Document>> all(ActorSystem<?> system, org.reactivestreams.Publisher<Document> publisher) {
    return Source.fromPublisher(publisher).runWith(Sink.seq(), system);
  }

  static Result audit(List<Document> oplog, List<Document> ledger, List<Document> source, List<Document> view) {
    Map<String, Integer> deliveries = new HashMap<>();
    long duplicates = 0;
    for (Document entry : ledger) {
      int n = entry.getInteger("n", 1);
      deliveries.put(String.valueOf(entry.get("_id")), n);
      duplicates += Math.max(0, n - 1);
    }
    long missingEvents = 0;
    if (oplog != null) {
      Set<String> seen = new HashSet<>(deliveries.keySet());
      for (Document entry : oplog) {
        String op = entry.getString("op");
        if (!"i".equals(op) && !"u".equals(op) && !"d".equals(op)) continue;
        BsonTimestamp time = entry.get("ts", BsonTimestamp.class);
        Document identity = "u".equals(entry.getString("op")) ? entry.get("o2", Document.class) : entry.get("o", Document.class);
        if (time == null || identity == null) continue;
        if (!seen.contains(OrdersView.ledgerKey(time.getValue(), identity.get("_id")))) missingEvents++;
      }
    }
    Map<Object, Document> sourceById = new HashMap<>();
    source.forEach(doc -> sourceById.put(doc.get("_id"), doc));
    Map<Object, Document> viewById = new HashMap<>();
    view.forEach(doc -> viewById.put(doc.get("_id"), doc));
    long mismatches = 0;
    for (Map.Entry<Object, Document> entry : sourceById.entrySet()) {
      if (!Objects.equals(entry.getValue(), viewById.get(entry.getKey()))) mismatches++;
    }
    for (Object id : viewById.keySet()) {
      if (!sourceById.containsKey(id)) mismatches++;
    }
    return new Result(missingEvents + mismatches, duplicates, deliveries.size(), missingEvents, mismatches, oplog != null);
  }
}
