package io.tidemark.embedded.conformance;

import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.event.CommandListener;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * The deployment a conformance test drives: the embedded server (in memory, on a free port), or,
 * when {@value #URI_ENV} names one, a real replica set, so that the same expectations can be
 * checked against MongoDB itself. Tests of a documented difference of the embedded server assume
 * {@link #embedded()}.
 */
final class Deployment implements AutoCloseable {
  static final String URI_ENV = "TIDEMARK_MONGODB_URI";
  static final Duration WAIT = Duration.ofSeconds(10);
  private static final AtomicInteger databases = new AtomicInteger();

  private final EmbeddedMongo server;
  private final String uri;
  private final MongoClient client;
  private final com.mongodb.reactivestreams.client.MongoClient reactive;

  private Deployment(EmbeddedMongo server, String uri) {
    this.server = server;
    this.uri = uri;
    this.client = MongoClients.create(settings(uri, null));
    this.reactive = com.mongodb.reactivestreams.client.MongoClients.create(settings(uri, null));
  }

  static Deployment start() {
    return start(EmbeddedSettings.defaults());
  }

  static Deployment start(EmbeddedSettings settings) {
    String real = System.getenv(URI_ENV);
    if (real != null && !real.isBlank()) return new Deployment(null, real);
    EmbeddedMongo server = EmbeddedMongo.inMemory(settings.withTestCommands(true));
    return new Deployment(server, server.connectionString());
  }

  static MongoClientSettings settings(String uri, CommandListener listener) {
    MongoClientSettings.Builder builder = MongoClientSettings.builder()
        .applyConnectionString(new ConnectionString(uri))
        .applyToClusterSettings(b -> b.serverSelectionTimeout(WAIT.toMillis(), TimeUnit.MILLISECONDS));
    if (listener != null) builder.addCommandListener(listener);
    return builder.build();
  }

  boolean embedded() {
    return server != null;
  }

  EmbeddedMongo server() {
    return server;
  }

  String uri() {
    return uri;
  }

  /** The connection string with more options, e.g. {@code replicaSet=rs0}. */
  String uri(String options) {
    return uri + (uri.contains("?") ? "&" : "/?") + options;
  }

  MongoClient client() {
    return client;
  }

  com.mongodb.reactivestreams.client.MongoClient reactive() {
    return reactive;
  }

  /** A database of its own for each test. */
  MongoDatabase database() {
    return client.getDatabase(databaseName());
  }

  static String databaseName() {
    return "conformance_" + databases.incrementAndGet();
  }

  /** The server's time now: what a stream started "now" starts from. */
  BsonTimestamp operationTime() {
    Document reply = client.getDatabase("admin").runCommand(new Document("ping", 1));
    return reply.get("operationTime", BsonTimestamp.class);
  }

  /** A time after every write so far: a stream started there sees only what is written next. */
  BsonTimestamp afterLastWrite() {
    BsonTimestamp now = operationTime();
    return new BsonTimestamp(now.getTime(), now.getInc() + 1);
  }

  /** Reads events until {@code n} have come (or fails after {@link #WAIT}). */
  static <T> List<ChangeStreamDocument<T>> take(MongoChangeStreamCursor<ChangeStreamDocument<T>> cursor, int n) {
    List<ChangeStreamDocument<T>> events = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (events.size() < n) {
      ChangeStreamDocument<T> next = cursor.tryNext();
      if (next != null) {
        events.add(next);
      } else if (System.nanoTime() > deadline) {
        throw new AssertionError("expected " + n + " change events within " + WAIT.toSeconds() + "s, got " + events.size() + ": " + events);
      }
    }
    return events;
  }

  /** Reads raw events until {@code n} have come (or fails after {@link #WAIT}). */
  static List<BsonDocument> takeRaw(com.mongodb.client.MongoCursor<BsonDocument> cursor, int n) {
    List<BsonDocument> events = new ArrayList<>();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (events.size() < n) {
      BsonDocument next = cursor.tryNext();
      if (next != null) {
        events.add(next);
      } else if (System.nanoTime() > deadline) {
        throw new AssertionError("expected " + n + " change events within " + WAIT.toSeconds() + "s, got " + events.size() + ": " + events);
      }
    }
    return events;
  }

  @Override
  public void close() {
    reactive.close();
    client.close();
    if (server != null) server.close();
  }
}
