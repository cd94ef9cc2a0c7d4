package io.tidemark.source;

import com.mongodb.client.ChangeStreamIterable;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import java.util.List;
import java.util.Objects;
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
  private final String database;
  private final String collection;
  private final FullDocumentBeforeChange beforeChange;
  private final boolean expanded;

  private ChangeStreamTarget(String database, String collection, FullDocumentBeforeChange beforeChange, boolean expanded) {
    this.database = database;
    this.collection = collection;
    this.beforeChange = beforeChange;
    this.expanded = expanded;
  }

  public static ChangeStreamTarget collection(String database, String collection) {
    return new ChangeStreamTarget(Objects.requireNonNull(database, "database"), Objects.requireNonNull(collection, "collection"), null, false);
  }

  public static ChangeStreamTarget database(String database) {
    return new ChangeStreamTarget(Objects.requireNonNull(database, "database"), null, null, false);
  }

  /** Every database and collection of the deployment, except the system ones ({@code admin}, {@code config}, {@code local}). */
  public static ChangeStreamTarget deployment() {
    return new ChangeStreamTarget(null, null, null, false);
  }

  /** The same target, with pre-images requested ({@code whenAvailable}, {@code required}); null or {@code off}: none. */
  public ChangeStreamTarget withFullDocumentBeforeChange(FullDocumentBeforeChange mode) {
    return new ChangeStreamTarget(database, collection,
        mode == FullDocumentBeforeChange.DEFAULT || mode == FullDocumentBeforeChange.OFF ? null : mode, expanded);
  }

  /** The same target, with the expanded (DDL) events shown or not. */
  public ChangeStreamTarget withShowExpandedEvents(boolean on) {
    return new ChangeStreamTarget(database, collection, beforeChange, on);
  }

  /** This target with the options (pre-images, expanded events) of {@code other}; null: none. */
  public ChangeStreamTarget withOptionsOf(ChangeStreamTarget other) {
    return other == null ? this : new ChangeStreamTarget(database, collection, other.beforeChange, other.expanded);
  }

  /** Whether the stream sees the expanded events. */
  public boolean showExpandedEvents() {
    return expanded;
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
