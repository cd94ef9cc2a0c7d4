package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.CursorNotFoundException;
import de.bwaldvogel.mongo.oplog.Oplog;
import io.netty.channel.Channel;
import java.util.List;
import org.h2.mvstore.MVStore;

/**
 * mongo-java-server's H2 backend, made to behave like a journaling replica-set member where
 * Tidemark depends on it:
 *
 * <ul>
 *   <li>its oplog is {@link ChangeStreamOplog}: ordered, seekable, capped, with replica-set
 *       change events and errors;
 *   <li>a write is committed to the store before it is acknowledged (when configured), so
 *       {@code kill -9} loses no acknowledged write, and the store is compacted as it goes;
 *   <li>an empty change-stream getMore waits up to {@code maxAwaitTimeMS} (capped) for a new
 *       entry, instead of returning at once into a busy loop.
 * </ul>
 */
final class EmbeddedBackend extends H2Backend {
  private final EmbeddedSettings settings;
  private final Object commitLock = new Object();
  private long commits;

  EmbeddedBackend(MVStore store, EmbeddedSettings settings) {
    super(store);
    this.settings = settings;
  }

  @Override
  protected Oplog createOplog() {
    return new ChangeStreamOplog(this, getMvStore(), getCursorRegistry(), settings.oplogMaxEntries);
  }

  ChangeStreamOplog changeStreamOplog() {
    return oplog instanceof ChangeStreamOplog changeStreams ? changeStreams : null;
  }

  @Override
  public Document handleCommand(Channel channel, String databaseName, String command, Document query) {
    Document response;
    try {
      response = super.handleCommand(channel, databaseName, command, query);
    } catch (ChangeStreamError e) {
      return e.reply();
    }
    if (settings.commitBeforeAck) commitIfChanged();
    closeFinishedChangeStream(response);
    stampOperationTime(response);
    return response;
  }

  /** Like a replica-set member, every reply carries the time of the newest oplog entry. */
  private void stampOperationTime(Document response) {
    ChangeStreamOplog changeStreams = changeStreamOplog();
    if (changeStreams == null || response.containsKey("operationTime")) return;
    long newest = changeStreams.newest();
    if (newest != 0) response.put("operationTime", new BsonTimestamp(newest));
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

  /** One commit covers every write made before it, so concurrent writers share commits. */
  private void commitIfChanged() {
    MVStore store = getMvStore();
    if (!store.hasUnsavedChanges()) return;
    synchronized (commitLock) {
      if (!store.hasUnsavedChanges()) return;
      store.commit();
      if (++commits % settings.compactEveryCommits == 0) {
        store.compact(80, 8 << 20);
      }
    }
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
    long maxMillis = settings.maxAwaitTime.toMillis();
    if (query.get("maxTimeMS") instanceof Number requested) maxMillis = Math.min(maxMillis, requested.longValue());
    try {
      changeStreams.awaitAppendAfter(seen, maxMillis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return response;
    }
    return super.handleGetMore(databaseName, command, query);
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
