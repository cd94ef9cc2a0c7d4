package io.tidemark.testkit;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Sorts;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * A MongoDB to inject faults into, for tests of change-stream consumers: the kit's embedded server
 * (mongo-java-server with a capped, seekable oplog, replica-set errors and the {@code failCommand}
 * fail point), or, when {@value #URI_ENV} names one, a real replica set started with
 * {@code --setParameter enableTestCommands=1}. The same test runs against either:
 *
 * <pre>
 * try (FaultyMongo mongo = FaultyMongo.fromEnvironment(EmbeddedSettings.defaults().withOplogMaxEntries(1_000))) {
 *   mongo.failCommand(FailCommand.on("getMore").errorCode(43).times(1));
 *   ...
 * }
 * </pre>
 *
 * What only the kit can do — truncate the oplog on demand, run as a standalone server — is behind
 * {@link #canTruncateOplog()} and {@link #embedded()}; a test branches on it and says so.
 */
public final class FaultyMongo implements AutoCloseable {
  /** The environment variable naming a real replica set to run fault tests against. */
  public static final String URI_ENV = "TIDEMARK_MONGODB_URI";

  private final String uri;
  private final EmbeddedMongo embedded;
  private final long oplogMaxEntries;
  private final MongoClient client;

  private FaultyMongo(String uri, EmbeddedMongo embedded, long oplogMaxEntries) {
    this.uri = uri;
    this.embedded = embedded;
    this.oplogMaxEntries = oplogMaxEntries;
    this.client = MongoConnector.connectSync(uri, Duration.ofSeconds(10));
  }

  /** The replica set named by {@value #URI_ENV} when set, else the kit's server with these settings (test commands on). */
  public static FaultyMongo fromEnvironment(EmbeddedSettings kit) {
    String real = System.getenv(URI_ENV);
    return real == null || real.isBlank() ? embedded(kit) : connect(real);
  }

  /** The kit's in-memory server, with test commands on. */
  public static FaultyMongo embedded(EmbeddedSettings settings) {
    EmbeddedSettings withTestCommands = settings.withTestCommands(true);
    EmbeddedMongo server = EmbeddedMongo.inMemory(withTestCommands);
    return new FaultyMongo(server.connectionString(), server, withTestCommands.oplogMaxEntries);
  }

  /** A running replica set; checks that it is one and that it accepts fail points. */
  public static FaultyMongo connect(String uri) {
    FaultyMongo mongo = new FaultyMongo(uri, null, 0);
    try {
      Document hello = mongo.admin().runCommand(new Document("hello", 1));
      if (hello.get("setName") == null && !"isdbgrid".equals(hello.get("msg"))) {
        throw new TidemarkException(URI_ENV + " = " + MongoConnector.redact(uri)
            + " is not a replica set: fault tests need one (mongod --replSet rs0, then rs.initiate())");
      }
      mongo.failPointsOff();
    } catch (RuntimeException e) {
      mongo.close();
      if (e instanceof TidemarkException) throw e;
      throw new TidemarkException(URI_ENV + " = " + MongoConnector.redact(uri) + " does not accept configureFailPoint ("
          + Errors.oneLine(e.getMessage()) + "): start mongod with --setParameter enableTestCommands=1", e);
    }
    return mongo;
  }

  public String uri() {
    return uri;
  }

  /** Whether this is the kit's server (else a real replica set). */
  public boolean embedded() {
    return embedded != null;
  }

  /** A client for the test's own reads and writes. */
  public MongoClient client() {
    return client;
  }

  public MongoDatabase database(String name) {
    return client.getDatabase(name);
  }

  /** Sets the {@code failCommand} fail point. */
  public void failCommand(FailCommand failPoint) {
    admin().runCommand(failPoint.command());
  }

  /** Turns the {@code failCommand} fail point off. */
  public void failPointsOff() {
    admin().runCommand(FailCommand.off());
  }

  /** Kills every open change-stream cursor; each one's next getMore fails with CursorNotFound (43). Returns how many. */
  public int killChangeStreamCursors() {
    if (embedded != null) return embedded.killChangeStreamCursors();
    List<Document> open = admin().aggregate(List.of(
            new Document("$currentOp", new Document("idleCursors", true).append("allUsers", true)),
            new Document("$match", new Document("cursor.originatingCommand.pipeline.0.$changeStream", new Document("$exists", true)))))
        .into(new java.util.ArrayList<>());
    int killed = 0;
    for (Document op : open) {
      String ns = op.getString("ns");
      Object id = ((Document) op.get("cursor")).get("cursorId");
      int dot = ns.indexOf('.');
      client.getDatabase(ns.substring(0, dot))
          .runCommand(new Document("killCursors", ns.substring(dot + 1)).append("cursors", List.of(id)));
      killed++;
    }
    return killed;
  }

  /** Whether {@link #pushOutOfOplog} can truncate the oplog: only the kit's capped one, small enough to fill. */
  public boolean canTruncateOplog() {
    return embedded != null && oplogMaxEntries <= 100_000;
  }

  /**
   * Writes to {@code filler} until the oplog no longer holds anything at or before {@code time}: a
   * real truncation, after which resuming from there fails with ChangeStreamHistoryLost (286).
   */
  public long pushOutOfOplog(BsonTimestamp time, String database, String filler) {
    if (!canTruncateOplog()) {
      throw new TidemarkException("cannot truncate the oplog of " + (embedded == null ? "a real replica set" : "an oplog capped at "
          + oplogMaxEntries + " entries") + " in a test; use the kit's server with a small oplog-max-entries");
    }
    var collection = client.getDatabase(database).getCollection(filler);
    long written = 0;
    while (oldestOplogTime().compareTo(time) <= 0) {
      List<Document> batch = new java.util.ArrayList<>();
      for (int i = 0; i < 100; i++) batch.add(new Document("filler", written++));
      collection.insertMany(batch);
    }
    return written;
  }

  /** The time of the oldest entry the oplog still holds. */
  public BsonTimestamp oldestOplogTime() {
    BsonDocument first = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class)
        .find().sort(Sorts.ascending("$natural")).limit(1).first();
    if (first == null) throw new TidemarkException("the oplog is empty");
    return first.getTimestamp("ts");
  }

  private MongoDatabase admin() {
    return client.getDatabase("admin");
  }

  /** Turns fail points off and lets go of the server (stopping the kit's). */
  @Override
  public void close() {
    try {
      failPointsOff();
    } catch (RuntimeException e) {
      // the server is gone or never took fail points
    }
    client.close();
    if (embedded != null) embedded.close();
  }
}
