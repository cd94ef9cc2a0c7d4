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

  /**
   * {@code auditedTo}: the newest oplog time audited (null: every entry, the pipeline being stopped);
   * {@code viewCompared}: whether the view was compared with the source (not while the collection
   * was still changing).
   */
  public record Result(
      long missing, long duplicates, long processed, long missingEvents, long viewMismatches, boolean oplogChecked,
      BsonTimestamp auditedTo, boolean viewCompared) {
    public String line() {
      return "missing=" + missing + " duplicates=" + duplicates + " processed=" + processed;
    }

    /** What was audited, for a person: where the cut was and whether the view was compared. */
    public String scope() {
      if (auditedTo == null) return "audited every event of the oplog; the view was compared with the source";
      return "audited the events up to " + java.time.Instant.ofEpochSecond(auditedTo.getTime()) + " (inc " + auditedTo.getInc()
          + "), the oplog's newest when the audit began; later ones are still in flight and not audited; "
          + (viewCompared ? "the view was compared with the source (nothing was written after the cut)"
              : "the view was not compared with the source (the collection changed during the audit)");
    }
  }

  /**
   * The audit of a pipeline that may still be running. The cut is the oplog's newest entry for the
   * collection when the audit begins: every event up to it must be delivered, and is waited for up
   * to {@code settle} (events in flight are not missing yet); events after it are not audited. The
   * view is compared with the source only when nothing was written after the cut.
   */
  public static Result settled(ActorSystem<?> system, MongoClient client, DemoSettings settings, java.time.Duration settle) {
    MongoDatabase database = client.getDatabase(settings.database);
    String namespace = settings.database + "." + settings.collection;
    var oplogCollection = client.getDatabase("local").getCollection("oplog.rs");
    List<Document> atStart = join(all(system, oplogCollection.find(Filters.eq("ns", namespace))).exceptionally(error -> null));
    if (atStart == null || atStart.isEmpty()) return join(run(system, client, settings));
    BsonTimestamp cut = atStart.stream().map(entry -> entry.get("ts", BsonTimestamp.class)).filter(Objects::nonNull)
        .max(BsonTimestamp::compareTo).orElse(null);
    long deadline = System.nanoTime() + settle.toNanos();
    while (true) {
      List<Document> ledger = join(all(system, database.getCollection(settings.ledgerCollection()).find()));
      List<Document> source = join(all(system, database.getCollection(settings.collection).find()));
      List<Document> view = join(all(system, database.getCollection(settings.viewCollection()).find()));
      List<Document> oplog = join(all(system, oplogCollection.find(Filters.eq("ns", namespace))));
      Result result = auditUpTo(oplog, cut, ledger, source, view);
      if (result.missing() == 0 || System.nanoTime() > deadline) return result;
      java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(500));
    }
  }

  private static <T> T join(CompletionStage<T> stage) {
    return stage.toCompletableFuture().join();
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
    return auditUpTo(oplog, null, ledger, source, view);
  }

  /** The audit of the oplog's entries up to {@code cut} (null: all); the view only if none came after it. */
  static Result auditUpTo(List<Document> oplog, BsonTimestamp cut, List<Document> ledger, List<Document> source, List<Document> view) {
    Map<String, Integer> deliveries = new HashMap<>();
    long duplicates = 0;
    for (Document entry : ledger) {
      int n = entry.getInteger("n", 1);
      deliveries.put(String.valueOf(entry.get("_id")), n);
      duplicates += Math.max(0, n - 1);
    }
    long missingEvents = 0;
    boolean later = false;
    if (oplog != null) {
      Set<String> seen = new HashSet<>(deliveries.keySet());
      for (Document entry : oplog) {
        String op = entry.getString("op");
        if (!"i".equals(op) && !"u".equals(op) && !"d".equals(op)) continue;
        BsonTimestamp time = entry.get("ts", BsonTimestamp.class);
        Document identity = "u".equals(entry.getString("op")) ? entry.get("o2", Document.class) : entry.get("o", Document.class);
        if (time == null || identity == null) continue;
        if (cut != null && time.compareTo(cut) > 0) {
          later = true;
          continue;
        }
        if (!seen.contains(OrdersView.ledgerKey(time.getValue(), identity.get("_id")))) missingEvents++;
      }
    }
    if (later) return new Result(missingEvents, duplicates, deliveries.size(), missingEvents, 0, true, cut, false);
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
    return new Result(missingEvents + mismatches, duplicates, deliveries.size(), missingEvents, mismatches, oplog != null, cut, true);
  }
}
