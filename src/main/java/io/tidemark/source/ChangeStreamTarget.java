package io.tidemark.source;

import com.mongodb.client.ChangeStreamIterable;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.MongoNamespace;
import io.tidemark.connection.MongoConnector;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Predicate;
import org.bson.Document;
import org.bson.conversions.Bson;

/**
 * What a stream watches: one collection, every collection of a database, or the whole deployment
 * ({@code client.watch()}); whether its events carry the document before the change (pre-images,
 * {@code fullDocumentBeforeChange}, MongoDB 6.0+ on collections with {@code changeStreamPreAndPostImages});
 * and whether it sees the expanded (DDL) events ({@code showExpandedEvents}, MongoDB 6.0+: create,
 * createIndexes, dropIndexes, modify, ...).
 */
public final class ChangeStreamTarget {
  /** The databases a deployment target leaves out. */
  private static final Set<String> SYSTEM_DATABASES = Set.of("admin", "config", "local");

  private final String database;
  private final String collection;
  private final FullDocumentBeforeChange beforeChange;
  private final boolean expanded;
  private final Predicate<String> namespaces;

  private ChangeStreamTarget(
      String database, String collection, FullDocumentBeforeChange beforeChange, boolean expanded, Predicate<String> namespaces) {
    this.database = database;
    this.collection = collection;
    this.beforeChange = beforeChange;
    this.expanded = expanded;
    this.namespaces = namespaces;
  }

  public static ChangeStreamTarget collection(String database, String collection) {
    return new ChangeStreamTarget(Objects.requireNonNull(database, "database"), Objects.requireNonNull(collection, "collection"), null, false, null);
  }

  public static ChangeStreamTarget database(String database) {
    return new ChangeStreamTarget(Objects.requireNonNull(database, "database"), null, null, false, null);
  }

  /** Every database and collection of the deployment, except the system ones ({@code admin}, {@code config}, {@code local}). */
  public static ChangeStreamTarget deployment() {
    return new ChangeStreamTarget(null, null, null, false, null);
  }

  /** The same target, with pre-images requested ({@code whenAvailable}, {@code required}); null or {@code off}: none. */
  public ChangeStreamTarget withFullDocumentBeforeChange(FullDocumentBeforeChange mode) {
    return new ChangeStreamTarget(database, collection,
        mode == FullDocumentBeforeChange.DEFAULT || mode == FullDocumentBeforeChange.OFF ? null : mode, expanded, namespaces);
  }

  /** The same target, with the expanded (DDL) events shown or not. */
  public ChangeStreamTarget withShowExpandedEvents(boolean on) {
    return new ChangeStreamTarget(database, collection, beforeChange, on, namespaces);
  }

  /** This target with the options (pre-images, expanded events, namespaces) of {@code other}; null: none. */
  public ChangeStreamTarget withOptionsOf(ChangeStreamTarget other) {
    return other == null ? this : new ChangeStreamTarget(database, collection, other.beforeChange, other.expanded, other.namespaces);
  }

  /** Whether the stream sees the expanded events. */
  public boolean showExpandedEvents() {
    return expanded;
  }

  /**
   * The same target narrowed to the namespaces ({@code "<db>.<collection>"}) {@code namespaces} accepts:
   * a snapshot copies only those collections (the pipeline's namespace filter drops the other events).
   */
  public ChangeStreamTarget withNamespaces(Predicate<String> namespaces) {
    return new ChangeStreamTarget(database, collection, beforeChange, expanded, namespaces);
  }

  /** Whether the target keeps events and documents of {@code namespace} ({@code "<db>.<collection>"}). */
  public boolean includes(String namespace) {
    return namespaces == null || namespaces.test(namespace);
  }

  /**
   * The collections a snapshot of this target copies, in namespace order (the order the copy goes
   * in, and resumes in): the collection; or the database's collections (not views, not
   * {@code system.*}); or those of every database but {@code admin}, {@code config} and {@code local};
   * narrowed by {@link #withNamespaces}.
   */
  public CompletionStage<List<MongoNamespace>> collections(MongoClient client) {
    if (collection != null) return CompletableFuture.completedFuture(List.of(new MongoNamespace(database, collection)));
    CompletionStage<List<String>> databases = database != null
        ? CompletableFuture.completedFuture(List.of(database))
        : MongoConnector.all(client.listDatabaseNames())
            .thenApply(names -> names.stream().filter(name -> !SYSTEM_DATABASES.contains(name)).toList());
    return databases.thenCompose(names -> {
      CompletableFuture<List<MongoNamespace>> all = CompletableFuture.completedFuture(new ArrayList<>());
      for (String name : names) {
        all = all.thenCombine(listCollections(client, name), (found, more) -> {
          found.addAll(more);
          return found;
        });
      }
      return all.thenApply(found -> found.stream()
          .filter(namespace -> includes(namespace.getFullName()))
          .sorted(java.util.Comparator.comparing(MongoNamespace::getFullName))
          .toList());
    });
  }

  /** The collections of a database, without views and {@code system.*}. */
  private static CompletionStage<List<MongoNamespace>> listCollections(MongoClient client, String database) {
    return MongoConnector.all(client.getDatabase(database).listCollections(org.bson.BsonDocument.class))
        .thenApply(collections -> collections.stream()
            .filter(info -> !info.isString("type") || "collection".equals(info.getString("type").getValue()))
            .map(info -> info.getString("name").getValue())
            .filter(name -> !name.startsWith("system."))
            .map(name -> new MongoNamespace(database, name))
            .toList());
  }

  /** Null when the whole deployment is watched. */
  public String database() {
    return database;
  }

  /** Null when a whole database, or the whole deployment, is watched. */
  public String collection() {
    return collection;
  }

  /** Null when the events carry no pre-image. */
  public FullDocumentBeforeChange fullDocumentBeforeChange() {
    return beforeChange;
  }

  public ChangeStreamPublisher<Document> watch(MongoClient client, List<Bson> pipeline) {
    ChangeStreamPublisher<Document> publisher = database == null ? client.watch(pipeline)
        : collection == null ? client.getDatabase(database).watch(pipeline)
        : client.getDatabase(database).getCollection(collection).watch(pipeline);
    if (expanded) publisher = publisher.showExpandedEvents(true);
    return beforeChange == null ? publisher : publisher.fullDocumentBeforeChange(beforeChange);
  }

  /** The same stream through the synchronous driver (probes). */
  public ChangeStreamIterable<Document> watch(com.mongodb.client.MongoClient client, List<Bson> pipeline) {
    ChangeStreamIterable<Document> iterable = database == null ? client.watch(pipeline)
        : collection == null ? client.getDatabase(database).watch(pipeline)
        : client.getDatabase(database).getCollection(collection).watch(pipeline);
    if (expanded) iterable = iterable.showExpandedEvents(true);
    return beforeChange == null ? iterable : iterable.fullDocumentBeforeChange(beforeChange);
  }

  @Override
  public String toString() {
    return database == null ? "the whole deployment" : collection == null ? database + ".*" : database + "." + collection;
  }
}
