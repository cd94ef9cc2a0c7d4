package io.tidemark.source;

import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import com.mongodb.reactivestreams.client.MongoClient;
import java.util.List;
import java.util.Objects;
import org.bson.Document;
import org.bson.conversions.Bson;

/** What a stream watches: one collection, or every collection of a database. */
public final class ChangeStreamTarget {
  private final String database;
  private final String collection;

  private ChangeStreamTarget(String database, String collection) {
    this.database = Objects.requireNonNull(database, "database");
    this.collection = collection;
  }

  public static ChangeStreamTarget collection(String database, String collection) {
    return new ChangeStreamTarget(database, Objects.requireNonNull(collection, "collection"));
  }

  public static ChangeStreamTarget database(String database) {
    return new ChangeStreamTarget(database, null);
  }

  public String database() {
    return database;
  }

  /** Null when the whole database is watched. */
  public String collection() {
    return collection;
  }

  public ChangeStreamPublisher<Document> watch(MongoClient client, List<Bson> pipeline) {
    var db = client.getDatabase(database);
    return collection == null ? db.watch(pipeline) : db.getCollection(collection).watch(pipeline);
  }

  @Override
  public String toString() {
    return collection == null ? database + ".*" : database + "." + collection;
  }
}
