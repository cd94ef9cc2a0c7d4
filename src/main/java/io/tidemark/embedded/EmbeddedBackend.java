package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.CursorNotFoundException;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.h2.mvstore.MVStore;

/**
 * mongo-java-server's H2 backend, made to behave like a journaling replica-set member where
 * Tidemark depends on it:
 *
 * <ul>
 *   <li>its databases and collections store BSON, keyed and ordered by {@code _id}, and answer
 *       queries from key ranges a batch at a time ({@link EmbeddedDatabase},
 *       {@link EmbeddedCollection});
 *   <li>its oplog is {@link ChangeStreamOplog}: ordered, seekable, capped, with replica-set
 *       change events and errors;
 *   <li>a write and its oplog entry are committed to the store together, and (when configured)
 *       before the write is acknowledged, so {@code kill -9} loses no acknowledged write and
 *       leaves no half of one ({@link GroupCommit}); the store is compacted as it goes;
 *   <li>an empty change-stream getMore waits up to {@code maxAwaitTimeMS} (capped) for a new
 *       entry, instead of returning at once into a busy loop.
 * </ul>
 */
class EmbeddedBackend extends H2Backend {
  /** Commands that never write; every other command runs as a write ({@link GroupCommit#write}). */
  private static final Set<String> READS = Set.of(
      "find", "getmore", "count", "distinct", "listcollections", "listindexes", "listdatabases", "ping", "ismaster", "hello",
      "buildinfo", "serverstatus", "collstats", "dbstats", "whatsmyuri", "getlog", "hostinfo", "getcmdlineopts",
      "getfreemonitoringstatus", "connectionstatus", "killcursors", "endsessions", "getlasterror", "saslstart",
      "getparameter", "replsetgetstatus", "configurefailpoint");

  private final EmbeddedSettings settings;
  private final FailPoints failPoints = new FailPoints();
  private Storage storage;
  private GroupCommit commits;

  /** @param storeCommitted told the store's version after each commit */
  EmbeddedBackend(MVStore store, EmbeddedSettings settings, java.util.function.LongConsumer storeCommitted) {
    super(store);
    this.settings = settings;
    this.commits = new GroupCommit(store, settings.commitBeforeAck, settings.compactEveryCommits,
        () -> changeStreamOplog() == null ? 0 : changeStreamOplog().newest(),
        ts -> {
          if (changeStreamOplog() != null) changeStreamOplog().published(ts);
        },
        storeCommitted);
    version(ReplicaSetMember.VERSION);
    store.getMapNames().stream()
        .filter(name -> name.startsWith(Storage.DOCUMENTS))
        .map(name -> name.substring(Storage.DOCUMENTS.length(), name.indexOf('.', Storage.DOCUMENTS.length())))
        .distinct()
        .forEach(this::resolveDatabase);
  }

  private synchronized Storage storage() {
    if (storage == null) storage = new Storage(getMvStore());
    return storage;
  }

  @Override
  protected MongoDatabase openOrCreateDatabase(String databaseName) {
    // Opening a database creates maps: no commit may see that half-done either.
    if (commits == null) return new EmbeddedDatabase(databaseName, getCursorRegistry(), storage());
    return commits.change(() -> new EmbeddedDatabase(databaseName, getCursorRegistry(), storage()));
  }

  GroupCommit commits() {
    return commits;
  }

  /** Documents read by queries so far. */
  long scannedObjects() {
    return storage().scannedObjects();
  }

  @Override
  public Document getServerStatus() {
    Document status = super.getServerStatus();
    if (status.get("metrics") instanceof Document metrics) {
      metrics.put("queryExecutor", new Document("scannedObjects", scannedObjects()));
    }
    return status;
  }

  @Override
  protected Oplog createOplog() {
    ChangeStreamOplog oplog = commits.change(() -> new ChangeStreamOplog(this, storage(), getCursorRegistry(), settings, settings.commitBeforeAck));
    storage().oplog(oplog);
    return oplog;
  }

  ChangeStreamOplog changeStreamOplog() {
    return oplog instanceof ChangeStreamOplog changeStreams ? changeStreams : null;
  }

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    if (isRead(command, query)) return handle(channel, databaseName, command, query);
    return commits.write(() -> handle(channel, databaseName, command, query));
  }

  private static boolean isRead(String command, Document query) {
    String name = command.toLowerCase(Locale.ROOT);
    if (name.equals("aggregate")) {
      return !(query.get("pipeline") instanceof List<?> stages)
          || stages.stream().noneMatch(stage -> stage instanceof Document d && (d.containsKey("$out") || d.containsKey("$merge")));
    }
    return READS.contains(name);
  }

  private Document handle(Channel channel, String databaseName, String command, Document query) {
    if (command.equalsIgnoreCase("saslStart")) return authenticate(query);
    if (command.equalsIgnoreCase("configureFailPoint")) {
      return settings.testCommands
          ? failPoints.configure(query)
          : FailPoints.error(59, "CommandNotFound", "no such command: 'configureFailPoint' (test commands are off)");
    }
    FailPoints.Injected fault = settings.testCommands ? failPoints.check(command) : null;
    if (fault != null) {
      if (fault.closeConnection()) channel.close();
      return fault.reply();
    }
    if (command.equalsIgnoreCase("collStats") && "local".equals(databaseName) && ChangeStreamOplog.COLLECTION.equals(query.get("collStats"))
        && changeStreamOplog() != null) {
      return changeStreamOplog().stats();
    }
    boolean changeStream = command.equalsIgnoreCase("aggregate") && isChangeStream(query);
    if (changeStream && !settings.replicaSet) return ChangeStreamError.notReplicaSet().reply();
    if (changeStream) markSplitLargeEvents(query);
    Document response;
    try {
      response = execute(channel, databaseName, command, query);
      // A collection of this server answers with a copy of what it stores; mongo-java-server's own
      // (a transaction's copy of a collection) with the stored object itself, encoded only after
      // this returns: answer a copy.
      if (isReadModifyWrite(command)) response = response.cloneDeeply();
    } catch (ChangeStreamError e) {
      return e.reply();
    }
    if (command.equalsIgnoreCase("renameCollection") && changeStreamOplog() != null && response.get("ok") instanceof Number ok && ok.doubleValue() == 1.0) {
      changeStreamOplog().handleRename(String.valueOf(query.get("renameCollection")), String.valueOf(query.get("to")));
    }
    addPostBatchResumeToken(response);
    closeFinishedChangeStream(response);
    stampOperationTime(response);
    return response;
  }

  /** Runs a command on mongo-java-server, inside the fail points, locks and commits above; a subclass may answer it itself. */
  protected Document execute(Channel channel, String databaseName, String command, Document query) {
    return super.handleCommand(channel, databaseName, command, query);
  }

  /**
   * The embedded server has no users and no access control: a client without credentials may do
   * anything. It accepts the PLAIN mechanism (as LDAP users authenticate) with any user and
   * password, so that a URI written with credentials runs against it as against a real server;
   * other mechanisms are refused as not enabled. (mongo-java-server itself knows no saslStart.)
   */
  private static Document authenticate(Document query) {
    if ("PLAIN".equals(query.get("mechanism"))) {
      return new Document("conversationId", 1).append("done", true).append("payload", new BinData(new byte[0])).append("ok", 1.0);
    }
    return FailPoints.error(334, "MechanismUnavailable",
        "Received authentication for mechanism " + query.get("mechanism") + " which is not enabled (the embedded server takes PLAIN)");
  }

  private static boolean isReadModifyWrite(String command) {
    return command.equalsIgnoreCase("findAndModify") || command.equalsIgnoreCase("update");
  }

  static boolean isChangeStream(Document query) {
    return query.get("pipeline") instanceof List<?> pipeline
        && !pipeline.isEmpty()
        && pipeline.get(0) instanceof Document first
        && first.containsKey("$changeStream");
  }

  /** Index of a $changeStreamSplitLargeEvent stage in the pipeline, or -1. */
  private static int splitStage(Document query) {
    if (!(query.get("pipeline") instanceof List<?> pipeline)) return -1;
    for (int i = 0; i < pipeline.size(); i++) {
      if (pipeline.get(i) instanceof Document stage && stage.containsKey("$changeStreamSplitLargeEvent")) return i;
    }
    return -1;
  }

  /** mongo-java-server does not know the stage: take it out, and tell the cursor to split instead. */
  @SuppressWarnings("unchecked")
  private static void markSplitLargeEvents(Document query) {
    int index = splitStage(query);
    if (index < 0) return;
    List<Object> pipeline = new java.util.ArrayList<>((List<Object>) query.get("pipeline"));
    pipeline.remove(index);
    Document changeStream = ((Document) ((Document) pipeline.get(0)).get("$changeStream")).cloneDeeply();
    changeStream.put(ChangeStreamCursor.SPLIT_LARGE_EVENTS, true);
    pipeline.set(0, new Document("$changeStream", changeStream));
    query.put("pipeline", pipeline);
  }

  /** Change-stream replies carry where a resume would continue, as replica sets do from 4.0.7 on. */
  private void addPostBatchResumeToken(Document response) {
    if (!(response.get("cursor") instanceof Document cursor) || !(cursor.get("id") instanceof Number id) || id.longValue() == 0) {
      return;
    }
    try {
      if (getCursorRegistry().getCursor(id.longValue()) instanceof ChangeStreamCursor stream) {
        cursor.put("postBatchResumeToken", stream.postBatchResumeToken());
      }
    } catch (CursorNotFoundException e) {
      // closed meanwhile
    }
  }

  /** Kills every open change-stream cursor; their next getMore fails with CursorNotFound (43). */
  int killChangeStreamCursors() {
    ChangeStreamOplog changeStreams = changeStreamOplog();
    return changeStreams == null ? 0 : changeStreams.killCursors();
  }

  /** Like a replica-set member, every reply carries the time of the newest oplog entry. */
  private void stampOperationTime(Document response) {
    ChangeStreamOplog changeStreams = changeStreamOplog();
    if (changeStreams == null || response.containsKey("operationTime")) return;
    long newest = changeStreams.newest();
    // An empty oplog still has a "now": the clock, as the next entry's time will be at least that.
    response.put("operationTime", new BsonTimestamp(newest != 0 ? newest : java.time.Instant.now().getEpochSecond() << 32));
  }

  /** A change stream that ended in its first batch (invalidated) must say so with cursor id 0. */
  private void closeFinishedChangeStream(Document response) {
    if (!(response.get("cursor") instanceof Document cursor) || !(cursor.get("id") instanceof Number id) || id.longValue() == 0) {
      return;
    }
    try {
      if (getCursorRegistry().getCursor(id.longValue()) instanceof ChangeStreamCursor stream && stream.isEmpty()) {
        getCursorRegistry().remove(id.longValue());
        cursor.put("id", 0L);
      }
    } catch (CursorNotFoundException e) {
      // already gone
    }
  }

  /** Closes the store once no write is in progress, committing what is written. */
  @Override
  public void close() {
    commits.stop();
    commits.exclusively(super::close);
  }

  @Override
  protected Document handleGetMore(String databaseName, String command, Document query) {
    long cursorId = ((Number) query.get(command)).longValue();
    ChangeStreamOplog changeStreams = changeStreamOplog();
    if (changeStreams == null || !isChangeStreamCursor(cursorId)) {
      return super.handleGetMore(databaseName, command, query);
    }
    long seen = changeStreams.appends();
    Document response = super.handleGetMore(databaseName, command, query);
    if (!isEmptyBatch(response)) return response;
    addPostBatchResumeToken(response);
    long maxMillis = settings.maxAwaitTime.toMillis();
    if (query.get("maxTimeMS") instanceof Number requested) maxMillis = Math.min(maxMillis, requested.longValue());
    try {
      changeStreams.awaitAppendAfter(seen, maxMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return response;
    }
    Document again = super.handleGetMore(databaseName, command, query);
    addPostBatchResumeToken(again);
    return again;
  }

  private boolean isChangeStreamCursor(long cursorId) {
    try {
      Cursor cursor = getCursorRegistry().getCursor(cursorId);
      return cursor instanceof ChangeStreamCursor;
    } catch (CursorNotFoundException e) {
      return false;
    }
  }

  private static boolean isEmptyBatch(Document response) {
    return response.get("cursor") instanceof Document cursor
        && cursor.get("nextBatch") instanceof List<?> batch
        && batch.isEmpty();
  }
}
