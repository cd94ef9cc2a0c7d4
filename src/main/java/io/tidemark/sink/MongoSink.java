package io.tidemark.sink;

import akka.Done;
import com.mongodb.MongoNamespace;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.UpdateDescription;
import com.mongodb.reactivestreams.client.ClientSession;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's {@code mongodb} sink: each event's document replicated into a target collection in
 * the same transaction as the sink's record of the event ({@link MongoTransactionalSink}), so the
 * target is a materialized view written effectively once.
 *
 * <ul>
 *   <li>an event with its full document (insert, replace, an update with {@code full-document =
 *       updateLookup}, a snapshot's copy): the target document is replaced by it, or inserted
 *       ({@code replaceOne} by {@code _id}, upsert);
 *   <li>an update without its full document: its {@code updateDescription} is applied
 *       ({@code $set} of the updated fields, {@code $unset} of the removed ones); an update that
 *       truncated an array cannot be replayed that way and fails, naming {@code updateLookup};
 *   <li>a delete: the target document is deleted by {@code _id};
 *   <li>an event about no document (drop, rename, invalidate): nothing.
 * </ul>
 *
 * Each {@link #attach} (a consumer starting) takes a new sink epoch at its first event, which fences
 * an older consumer of the stream. On the source's own deployment, an event from a namespace this sink
 * writes into (or from its positions database) fails the stream instead of copying its own writes
 * forever.
 */
final class MongoSink implements ConfiguredSink {
  private static final Logger log = LoggerFactory.getLogger(MongoSink.class);
  private static final Duration CLOSE_WAIT = Duration.ofSeconds(10);

  private final String stream;
  private final String uri;
  private final boolean sourceDeployment;
  private final String database;
  private final String collection;
  private final String positionsDatabase;
  private final Duration connectTimeout;
  private final NamespaceRoutes routes;
  private final boolean routed;
  private final List<MongoTransactionalSink> sinks = new CopyOnWriteArrayList<>();
  /** Target namespaces written, as "db.collection": on the source deployment, events from them would be the sink's own writes. */
  private final Set<String> written = ConcurrentHashMap.newKeySet();
  private final Set<CompletableFuture<?>> inFlight = ConcurrentHashMap.newKeySet();
  private final akka.actor.typed.ActorSystem<?> system;
  /** The target deployment's clients, shared with every stream of this node that writes to or reads from it. */
  private SharedMongoClients.Lease lease;

  MongoSink(SinkContext context, String uri, boolean sourceDeployment, String database, String collection, String positionsDatabase,
      Duration connectTimeout, NamespaceRoutes routes) {
    this.stream = context.stream();
    this.system = context.system();
    this.uri = uri;
    this.sourceDeployment = sourceDeployment;
    this.database = database;
    this.collection = collection;
    this.positionsDatabase = positionsDatabase;
    this.connectTimeout = connectTimeout;
    this.routes = routes;
    this.routed = database.contains("{route}") || collection.contains("{route}");
  }

  @Override
  public String guarantee() {
    return "effectively-once";
  }

  @Override
  public boolean takesRoutes() {
    return routed;
  }

  @Override
  public synchronized PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
    if (lease == null) lease = SharedMongoClients.get(system).lease(uri, connectTimeout);
    return stages.handle(new Attachment(lease.client())::handle);
  }

  /** Events whose writes committed, over every attachment. */
  long applied() {
    return sinks.stream().mapToLong(MongoTransactionalSink::applied).sum();
  }

  /** Replayed events found written and skipped, over every attachment. */
  long skipped() {
    return sinks.stream().mapToLong(MongoTransactionalSink::skipped).sum();
  }

  /** One consumer's run of the stream: its own sink epoch, taken at its first event. */
  private final class Attachment {
    private final MongoClient client;
    private CompletableFuture<EventHandler> handler;

    Attachment(MongoClient client) {
      this.client = client;
    }

    CompletionStage<Done> handle(String name, ChangeEnvelope event) {
      if (event.documentKey() == null) return CompletableFuture.completedFuture(Done.getInstance()); // not about one document
      MongoNamespace target;
      try {
        target = target(event);
      } catch (TidemarkException e) {
        return CompletableFuture.failedFuture(e);
      }
      written.add(target.getFullName());
      CompletableFuture<Done> done = handler().thenCompose(handler -> handler.handle(name, event)).toCompletableFuture();
      inFlight.add(done);
      done.whenComplete((result, error) -> inFlight.remove(done));
      return done;
    }

    /** The transactional sink, its epoch taken on first use; taken again at the next event if that failed. */
    private synchronized CompletableFuture<EventHandler> handler() {
      if (handler == null || handler.isCompletedExceptionally()) {
        handler = MongoTransactionalSink.create(client, positionsDatabase, stream).toCompletableFuture().thenApply(sink -> {
          sinks.add(sink);
          return sink.handler((session, event) -> write(session, event, target(event)));
        });
      }
      return handler;
    }

    private CompletionStage<?> write(ClientSession session, ChangeEnvelope event, MongoNamespace namespace) {
      MongoCollection<Document> target = client.getDatabase(namespace.getDatabaseName()).getCollection(namespace.getCollectionName());
      Bson byId = Filters.eq("_id", event.documentKey().get("_id"));
      if (EventFormat.isDelete(event)) return MongoConnector.first(target.deleteOne(session, byId));
      Document document = event.fullDocument();
      if (document != null) return MongoConnector.first(target.replaceOne(session, byId, document, new ReplaceOptions().upsert(true)));
      if (!"update".equals(event.operationType())) return CompletableFuture.completedFuture(null);
      Bson update = updateOf(event);
      return update == null ? CompletableFuture.completedFuture(null) : MongoConnector.first(target.updateOne(session, byId, update));
    }
  }

  /** The target namespace of an event; fails when, on the source's deployment, the event is one of the sink's own writes. */
  private MongoNamespace target(ChangeEnvelope event) {
    BsonDocument ns = event.event().getNamespaceDocument();
    String db = ns != null && ns.isString("db") ? ns.getString("db").getValue() : "";
    String coll = ns != null && ns.isString("coll") ? ns.getString("coll").getValue() : "";
    String route = routed ? routes.routeOf(db + "." + coll) : "";
    String targetDatabase = fill(database, db, coll, stream, route);
    String targetCollection = fill(collection, db, coll, stream, route);
    String key = "tidemark.streams." + stream + ".sink.";
    checkDatabaseName(targetDatabase, key + "database");
    checkCollectionName(targetCollection, key + "collection");
    MongoNamespace target = new MongoNamespace(targetDatabase, targetCollection);
    String source = db + "." + coll;
    if (sourceDeployment && (db.equals(positionsDatabase) || written.contains(source) || target.getFullName().equals(source))) {
      throw new TidemarkException("stream '" + stream + "': the mongodb sink writes into " + (db.equals(positionsDatabase)
          ? "the database " + db + " (its positions-database)" : source) + " on the source's deployment, and the stream reads it:"
          + " it would copy its own writes forever; leave it out of the stream (source.exclude-namespaces), or write into another"
          + " deployment (sink.uri)");
    }
    return target;
  }

  /** The update an event without its full document describes; null when it changes nothing. */
  private Bson updateOf(ChangeEnvelope event) {
    UpdateDescription description = event.event().getUpdateDescription();
    if (description == null) {
      throw new TidemarkException("stream '" + stream + "': the mongodb sink got update event #" + event.seqNr() + " of "
          + event.documentKey().toJson() + " with neither its full document nor an updateDescription: set source.full-document ="
          + " updateLookup");
    }
    if (description.getTruncatedArrays() != null && !description.getTruncatedArrays().isEmpty()) {
      throw new TidemarkException("stream '" + stream + "': the mongodb sink cannot apply update event #" + event.seqNr() + " of "
          + event.documentKey().toJson() + ": it truncated an array, which only the full document shows: set source.full-document ="
          + " updateLookup");
    }
    List<Bson> changes = new ArrayList<>();
    BsonDocument updated = description.getUpdatedFields();
    if (updated != null) {
      for (var field : updated.entrySet()) changes.add(Updates.set(field.getKey(), field.getValue()));
    }
    List<String> removed = description.getRemovedFields();
    if (removed != null) {
      for (String field : removed) changes.add(Updates.unset(field));
    }
    return changes.isEmpty() ? null : Updates.combine(changes);
  }

  /** A namespace template with its placeholders filled in; the route last, so that its text stays as it is. */
  static String fill(String template, String db, String coll, String stream, String route) {
    return template.replace("{db}", db).replace("{collection}", coll).replace("{stream}", stream).replace("{route}", route);
  }

  static void checkDatabaseName(String name, String key) {
    if (name.isEmpty() || name.getBytes(StandardCharsets.UTF_8).length >= 64 || name.chars().anyMatch(c -> "/\\. \"$\0".indexOf(c) >= 0)) {
      throw new TidemarkException("invalid config key " + key + ": the database name \"" + name + "\" is not one MongoDB takes:"
          + " expected 1 to 63 bytes without / \\ . space \" $");
    }
  }

  static void checkCollectionName(String name, String key) {
    if (name.isEmpty() || name.indexOf('$') >= 0 || name.indexOf('\0') >= 0 || name.startsWith("system.")) {
      throw new TidemarkException("invalid config key " + key + ": the collection name \"" + name + "\" is not one MongoDB takes:"
          + " expected a name without $ that does not begin with system.");
    }
  }

  /** Waits (a while) for the writes under way, so that their outcome is known, then releases the clients. */
  @Override
  public synchronized void close() {
    try {
      CompletableFuture.allOf(inFlight.stream().map(write -> write.exceptionally(failed -> null)).toArray(CompletableFuture[]::new))
          .get(CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (Exception e) {
      log.warn("stream '{}': closing the mongodb sink with writes still under way ({})", stream, io.tidemark.Errors.summary(e));
    }
    if (!sinks.isEmpty()) log.info("stream '{}': mongodb sink applied {} events, skipped {} replayed", stream, applied(), skipped());
    if (lease != null) lease.close();
  }
}
