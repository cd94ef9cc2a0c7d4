package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.exception.MongoServerException;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.net.InetSocketAddress;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded server as a driver meets it: the primary of the single-node replica set
 * {@value ReplicaSetMember#SET_NAME}. On top of {@link EmbeddedBackend} (data, oplog, change
 * streams) it answers the handshake and {@code replSetGetStatus} ({@link ReplicaSetMember}),
 * accepts sessions, stamps every reply with {@code $clusterTime} and {@code operationTime}, and
 * answers every failed command with an error reply, as a {@code mongod} does: a command it does not
 * know is {@code CommandNotFound} (59), logged in one line at debug level.
 */
class ReplicaSetBackend extends EmbeddedBackend {
  private static final Logger log = LoggerFactory.getLogger(ReplicaSetBackend.class);

  /**
   * Every command the server answers (lower case): mongo-java-server's, the kit's and this class's.
   * Any other is refused before mongo-java-server logs it as an error.
   */
  private static final Set<String> COMMANDS = Set.of(
      // mongo-java-server: any database
      "whatsmyuri", "ismaster", "buildinfo", "dropdatabase", "getmore", "killcursors", "ping", "serverstatus",
      // mongo-java-server: admin
      "listdatabases", "replsetgetstatus", "getlog", "renamecollection", "connectionstatus", "hostinfo", "getcmdlineopts",
      "getfreemonitoringstatus", "endsessions",
      // mongo-java-server: a database
      "getlasterror", "reseterror", "find", "insert", "update", "delete", "create", "createindexes", "count", "aggregate",
      "distinct", "drop", "dropindexes", "dbstats", "collstats", "validate", "findandmodify", "listcollections", "listindexes",
      // EmbeddedDatabase
      "collmod",
      // EmbeddedBackend
      "saslstart", "configurefailpoint",
      // this class
      "hello", "startsession", "refreshsessions", "killsessions", "killallsessions", "killallsessionsbypattern",
      "committransaction", "aborttransaction");

  /** Commands that read or write collections: a committing transaction waits for them, and they for it. */
  private static final Set<String> DATA = Set.of(
      "insert", "update", "delete", "findandmodify", "drop", "dropdatabase", "renamecollection", "create", "createindexes", "dropindexes",
      "collmod", "find", "count", "distinct", "aggregate", "listcollections", "listindexes", "dbstats", "collstats");

  private final ReplicaSetMember member;
  private final Transactions transactions = new Transactions(this);
  private final RetryableWrites retryableWrites = new RetryableWrites();

  ReplicaSetBackend(MVStore store, EmbeddedSettings settings, java.util.function.LongConsumer storeCommitted) {
    super(store, settings, storeCommitted);
    this.member = new ReplicaSetMember(settings.replicaSet);
  }

  @Override
  protected Oplog createOplog() {
    Oplog oplog = super.createOplog();
    if (oplog instanceof ChangeStreamOplog changeStreams) changeStreams.initiate();
    return oplog;
  }

  /** The address the server listens on: the member's name in the handshake. */
  void bound(InetSocketAddress address) {
    member.bound(address);
  }

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    Document reply;
    try {
      reply = dispatch(channel, databaseName, command, query);
    } catch (LabelledError e) {
      log.debug("{} on {} failed: {}", command, databaseName, e.getMessageWithoutErrorCode());
      reply = e.reply();
    } catch (MongoServerException e) {
      log.debug("{} on {} failed: {}", command, databaseName, e.getMessageWithoutErrorCode());
      reply = errorReply(e);
    } catch (RuntimeException e) {
      log.warn("{} on {} failed with an internal error", command, databaseName, e);
      reply = new Document("ok", 0.0).append("errmsg", "internal error: " + e).append("code", 1).append("codeName", "InternalError");
    }
    member.stamp(reply, clusterTime());
    return reply;
  }

  private Document dispatch(Channel channel, String databaseName, String command, Document query) {
    String name = command.toLowerCase(Locale.ROOT);
    if (!COMMANDS.contains(name)) {
      log.debug("no such command: '{}' on {}", command, databaseName);
      return FailPoints.error(59, "CommandNotFound", "no such command: '" + command + "'");
    }
    if (query.get("readConcern") instanceof Document readConcern && readConcern.get("afterClusterTime") instanceof BsonTimestamp after
        && after.getValue() > clusterTime()) {
      return FailPoints.error(72, "InvalidOptions", "readConcern afterClusterTime value must not be greater than the current clusterTime."
          + " Requested clusterTime: " + after + "; current clusterTime: " + new BsonTimestamp(clusterTime()));
    }
    switch (name) {
      case "hello":
        return member.hello(channel, query, false, clusterTime());
      case "ismaster":
        return member.hello(channel, query, true, clusterTime());
      case "replsetgetstatus":
        if (!member.isReplicaSet()) return FailPoints.error(76, "NoReplicationEnabled", "not running with --replSet");
        if (!"admin".equals(databaseName)) {
          return FailPoints.error(13, "Unauthorized", "replSetGetStatus may only be run against the admin database.");
        }
        return member.status(channel, clusterTime());
      case "startsession":
        return new Document("id", new Document("id", UUID.randomUUID()))
            .append("timeoutMinutes", ReplicaSetMember.SESSION_TIMEOUT_MINUTES)
            .append("ok", 1.0);
      case "endsessions":
      case "killsessions":
        transactions.end(query.get(command));
        retryableWrites.end(query.get(command));
        return new Document("ok", 1.0);
      case "killallsessions":
      case "killallsessionsbypattern":
        transactions.endAll();
        return new Document("ok", 1.0);
      case "refreshsessions":
        return new Document("ok", 1.0);
      default:
        return super.handleCommand(channel, databaseName, command, query);
    }
  }

  @Override
  protected Document execute(Channel channel, String databaseName, String command, Document query) {
    String name = command.toLowerCase(Locale.ROOT);
    if (Transactions.isTransactional(query) || name.equals("committransaction") || name.equals("aborttransaction")) {
      if (!member.isReplicaSet()) throw TransactionError.notOnStandalone();
      return transactions.handle(channel, databaseName, command, query);
    }
    if (!DATA.contains(name)) return executeOutsideTransactions(channel, databaseName, name, command, query);
    transactions.sharedLock().lock();
    try {
      return retryableWrites.execute(name, query, () -> executeOutsideTransactions(channel, databaseName, name, command, query));
    } finally {
      transactions.sharedLock().unlock();
    }
  }

  private Document executeOutsideTransactions(Channel channel, String databaseName, String name, String command, Document query) {
    if (name.equals("update") && PipelineUpdates.any(query)) {
      return PipelineUpdates.execute(resolveDatabase(databaseName), this::resolveDatabase, changeStreamOplog(), query,
          one -> super.execute(channel, databaseName, one.keySet().iterator().next(), one));
    }
    if (name.equals("aggregate") && "admin".equals(databaseName) && isChangeStream(query)) {
      // A deployment's stream: mongo-java-server runs no aggregate on admin, so it runs here, as on any database.
      return resolveDatabase(databaseName).handleCommand(channel, command, query, this::resolveDatabase, oplog);
    }
    if (name.equals("dropdatabase")) {
      boolean existed = listDatabaseNames().contains(databaseName);
      Document reply = super.execute(channel, databaseName, command, query);
      ChangeStreamOplog changeStreams = changeStreamOplog();
      if (existed && changeStreams != null) changeStreams.handleDropDatabase(databaseName);
      return reply;
    }
    return super.execute(channel, databaseName, command, query);
  }

  /** A collection of the server, or null when it (or its database) does not exist; creates nothing. */
  MongoCollection<?> collection(String databaseName, String collectionName) {
    if (!listDatabaseNames().contains(databaseName)) return null;
    return resolveDatabase(databaseName).resolveCollection(collectionName, false);
  }

  /** A document of the server by its _id, or null. */
  Document document(String databaseName, String collectionName, Object id) {
    MongoCollection<?> collection = collection(databaseName, collectionName);
    if (collection == null) return null;
    for (Document document : collection.handleQuery(new Document("_id", id), 0, 1)) return document.cloneDeeply();
    return null;
  }

  /**
   * Makes a document what a committed transaction left it (null: deleted), without an oplog entry
   * of its own: the transaction logs one for all its writes.
   */
  void writeFinal(Channel channel, String databaseName, String collectionName, Object id, Document result) {
    Document current = document(databaseName, collectionName, id);
    if (Objects.equals(current, result)) return;
    Document command;
    if (result == null) {
      command = new Document("delete", collectionName).append("deletes", List.of(new Document("q", new Document("_id", id)).append("limit", 1)));
    } else if (current == null) {
      command = new Document("insert", collectionName).append("documents", List.of(result));
    } else {
      command = new Document("update", collectionName).append("updates", List.of(new Document("q", new Document("_id", id)).append("u", result)));
    }
    String name = command.keySet().iterator().next();
    Document reply = resolveDatabase(databaseName).handleCommand(channel, name, command, this::resolveDatabase, NoopOplog.get());
    if (reply.get("writeErrors") instanceof List<?> errors && !errors.isEmpty()) {
      throw new MongoServerException("a committing transaction could not write " + databaseName + "." + collectionName + " _id " + id + ": "
          + errors.get(0));
    }
  }

  /** The newest oplog time; on an empty oplog the clock, as the next entry's time will be at least that. */
  long clusterTime() {
    ChangeStreamOplog oplog = changeStreamOplog();
    long newest = oplog == null ? 0 : oplog.newest();
    return newest != 0 ? newest : Instant.now().getEpochSecond() << 32;
  }

  private static Document errorReply(MongoServerException e) {
    Document reply = new Document("ok", 0.0).append("errmsg", e.getMessageWithoutErrorCode());
    if (e instanceof MongoServerError error) {
      reply.append("code", error.getCode());
      if (error.getCodeName() != null) reply.append("codeName", error.getCodeName());
    }
    return reply;
  }
}
