package io.tidemark.source;

import com.mongodb.MongoNamespace;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.connection.CommandTags;
import io.tidemark.connection.MongoConnector;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * The incremental snapshot requests of a deployment, one document each in the signal collection,
 * and the reads of their chunks. A request names its stream, the collection to copy and an
 * optional filter; its {@code state} goes {@code pending} → {@code running} → {@code done}, and
 * its progress ({@code after}: the last {@code _id} done; {@code copied}; {@code chunks}) is written
 * there once a chunk's documents are done, so a restarted stream goes on after it. Whoever may write
 * the document (the CLI's {@link Control}s, or any client) pauses it ({@code paused}: no chunk is
 * opened, it keeps its place in the queue), resumes it, or stops it ({@code stopped}, or any state
 * but the three open ones: it ends, the next request is taken). The state is the document's, so
 * each of these survives a crash of the stream or of whoever wrote it; the stream only writes the
 * states it owns ({@code running} from {@code pending}, {@code done} from an open state) with
 * conditions on the state read, so it never undoes a pause or a stop.
 */
@akka.annotation.InternalApi
public final class SignalCollection {
  public static final String PENDING = "pending";
  public static final String RUNNING = "running";
  public static final String DONE = "done";
  public static final String FAILED = "failed";
  public static final String PAUSED = "paused";
  public static final String STOPPED = "stopped";
  /** The states of a request not ended: the stream takes (or holds) the oldest of them. */
  static final List<String> OPEN = List.of(PENDING, RUNNING, PAUSED);

  /**
   * What {@code tidemark snapshot pause|resume|stop} does to a request: the states it applies to,
   * and the state it writes (a resumed request goes back to {@code running} when it had started,
   * to {@code pending} when not).
   */
  public enum Control {
    PAUSE(List.of(PENDING, RUNNING), PAUSED, "paused"),
    RESUME(List.of(PAUSED), RUNNING, "resumed"),
    STOP(OPEN, STOPPED, "stopped");

    public final List<String> from;
    public final String to;
    /** What it did, as the CLI says it ("paused"). */
    public final String past;

    Control(List<String> from, String to, String past) {
      this.from = from;
      this.to = to;
      this.past = past;
    }

    public String verb() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The request (by id) or the oldest one of the stream that this control applies to. */
    public Bson target(String stream, BsonValue id) {
      Bson open = Filters.and(Filters.eq("stream", stream), Filters.in("state", from));
      return id == null ? open : Filters.and(open, Filters.eq("_id", id));
    }

    /** The update that applies it; {@code started}: whether the request had started (for a resume). */
    public Bson update(boolean started, String who) {
      Date now = Date.from(Instant.now());
      String state = this == RESUME && !started ? PENDING : to;
      List<Bson> set = new java.util.ArrayList<>(List.of(Updates.set("state", state), Updates.set("updatedAt", now),
          Updates.set(past + "At", now)));
      if (this == STOP) set.add(Updates.set("note", "stopped by " + who + " at " + now.toInstant()));
      return Updates.combine(set);
    }
  }

  /** A request in progress: what to copy, and how far it got. */
  public record Request(BsonValue id, MongoNamespace namespace, BsonDocument filter, BsonValue after, long copied, long chunks, String state) {
    public String describe() {
      return "incremental snapshot " + idText() + " of " + namespace.getFullName() + (filter.isEmpty() ? "" : " where " + filter.toJson());
    }

    /** The id as the CLI prints it: an ObjectId's hex digits, any other value as JSON. */
    public String idText() {
      return id.isObjectId() ? id.asObjectId().getValue().toHexString() : new BsonDocument("_id", id).toJson();
    }

    public boolean paused() {
      return PAUSED.equals(state);
    }
  }

  /** A chunk read between its watermarks. */
  public record Chunk(BsonTimestamp low, List<Document> rows, BsonTimestamp high) {}

  private final String stream;
  private final MongoClient client;
  private final MongoCollection<BsonDocument> signals;

  public SignalCollection(String stream, MongoClient client, MongoNamespace namespace) {
    this.stream = stream;
    this.client = client;
    this.signals = client.getDatabase(namespace.getDatabaseName()).getCollection(namespace.getCollectionName(), BsonDocument.class);
  }

  /** A request document for {@code stream}: what {@code tidemark snapshot request} inserts. */
  public static Document request(String stream, MongoNamespace collection, BsonDocument filter) {
    return new Document("stream", stream).append("collection", collection.getFullName())
        .append("filter", filter == null ? new BsonDocument() : filter).append("state", PENDING).append("requestedAt", Date.from(Instant.now()));
  }

  /**
   * The oldest request of the stream not yet ended (pending, running or paused). A request that
   * cannot be read (no collection, a filter that is not a document) is marked {@code failed}, with a
   * note saying why, and skipped.
   */
  public CompletionStage<Optional<Request>> next() {
    return MongoConnector.first(CommandTags.forStream(stream, signals.find(Filters.and(Filters.eq("stream", stream),
                Filters.in("state", OPEN)))
            .sort(Sorts.ascending("_id")).first()))
        .thenCompose(document -> {
          if (document == null) return java.util.concurrent.CompletableFuture.completedFuture(Optional.<Request>empty());
          try {
            return java.util.concurrent.CompletableFuture.completedFuture(Optional.of(parse(document)));
          } catch (RuntimeException e) {
            return MongoConnector.first(CommandTags.forStream(stream, signals.updateOne(Filters.eq("_id", document.get("_id")),
                    Updates.combine(Updates.set("state", FAILED), Updates.set("note", e.getMessage()),
                        Updates.set("updatedAt", Date.from(Instant.now()))))))
                .thenCompose(marked -> next());
          }
        });
  }

  static Request parse(BsonDocument document) {
    if (!document.isString("collection")) {
      throw new IllegalArgumentException("incremental snapshot request " + document.get("_id") + " has no collection \"<db>.<collection>\"");
    }
    if (!document.getString("collection").getValue().contains(".")) {
      throw new IllegalArgumentException("incremental snapshot request " + document.get("_id") + ": collection must be \"<db>.<collection>\", was "
          + document.getString("collection").getValue());
    }
    if (document.containsKey("filter") && !document.isDocument("filter") && !document.isNull("filter")) {
      throw new IllegalArgumentException("incremental snapshot request " + document.get("_id") + ": filter must be a document (a query), was "
          + document.get("filter"));
    }
    BsonDocument filter = document.isDocument("filter") ? document.getDocument("filter") : new BsonDocument();
    return new Request(document.get("_id"), new MongoNamespace(document.getString("collection").getValue()), filter,
        document.get("after"), number(document.get("copied")), number(document.get("chunks")),
        document.isString("state") ? document.getString("state").getValue() : PENDING);
  }

  /** The request's state now ({@code null}: its document is gone). */
  public CompletionStage<String> state(Request request) {
    return MongoConnector.first(CommandTags.forStream(stream, signals.find(Filters.eq("_id", request.id()))
            .projection(new Document("state", 1)).first()))
        .thenApply(document -> document == null ? null : document.isString("state") ? document.getString("state").getValue() : PENDING);
  }

  /** Marks a pending request running, when the stream takes it (or resumes it): a paused or stopped one stays so. */
  public CompletionStage<Void> start(Request request) {
    Date now = Date.from(Instant.now());
    return MongoConnector.first(CommandTags.forStream(stream, signals.updateOne(Filters.and(Filters.eq("_id", request.id()), Filters.eq("state", PENDING)),
            Updates.combine(Updates.set("state", RUNNING), Updates.set("startedAt", now), Updates.set("updatedAt", now)))))
        .thenApply(result -> null);
  }

  private static long number(BsonValue value) {
    return value != null && value.isNumber() ? value.asNumber().longValue() : 0;
  }

  /**
   * Records that the documents up to {@code after} are done. The state is not written: a pause or a
   * stop written meanwhile stands (and the progress of a stopped request says how far it got).
   */
  public CompletionStage<Void> progress(Request request, BsonValue after, long copied, long chunks) {
    List<Bson> set = new java.util.ArrayList<>(List.of(Updates.set("copied", copied),
        Updates.set("chunks", chunks), Updates.set("updatedAt", Date.from(Instant.now()))));
    if (after != null) set.add(Updates.set("after", after));
    return MongoConnector.first(CommandTags.forStream(stream, signals.updateOne(Filters.eq("_id", request.id()), Updates.combine(set))))
        .thenApply(result -> null);
  }

  /**
   * Records that the request is done (or ended: {@code state} and a note say why), unless it has
   * ended meanwhile (stopped): that stands.
   */
  public CompletionStage<Void> finish(Request request, String state, long copied, long chunks, String note) {
    return MongoConnector.first(CommandTags.forStream(stream, signals.updateOne(Filters.and(Filters.eq("_id", request.id()),
            Filters.in("state", OPEN)), Updates.combine(
            Updates.set("state", state), Updates.set("copied", copied), Updates.set("chunks", chunks), Updates.set("note", note),
            Updates.set("updatedAt", Date.from(Instant.now()))))))
        .thenApply(result -> null);
  }

  /**
   * The next chunk after {@code after} (from the first when null), at most {@code limit} documents
   * in {@code _id} order, between the server's operation times just before and just after the read.
   */
  public CompletionStage<Chunk> read(Request request, BsonValue after, int limit) {
    Bson filter = after == null ? request.filter() : Filters.and(request.filter(), Filters.gt("_id", after));
    MongoCollection<Document> collection =
        client.getDatabase(request.namespace().getDatabaseName()).getCollection(request.namespace().getCollectionName());
    return operationTime().thenCompose(low -> MongoConnector.all(CommandTags.forStream(stream,
                collection.find(filter).sort(Sorts.ascending("_id")).limit(limit).batchSize(limit)))
            .thenCompose(rows -> operationTime().thenApply(high -> new Chunk(low, rows, high))));
  }

  private CompletionStage<BsonTimestamp> operationTime() {
    return MongoConnector.first(CommandTags.forStream(stream, client.getDatabase("admin").runCommand(new Document("ping", 1))))
        .thenApply(pong -> {
          if (pong != null && pong.get("operationTime") instanceof BsonTimestamp time) return time;
          throw new IllegalStateException("the server's ping has no operationTime: incremental snapshots need a replica set or a sharded cluster");
        });
  }
}
