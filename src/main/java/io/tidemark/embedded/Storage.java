package io.tidemark.embedded;

import java.util.concurrent.atomic.LongAdder;
import org.h2.mvstore.MVStore;

/**
 * What the databases and collections of the embedded server share: the store, the oplog that
 * records their writes (set once the backend has created it), and the count of documents read
 * by queries ({@code serverStatus} {@code metrics.queryExecutor.scannedObjects}, as a mongod
 * counts them).
 */
final class Storage {
  /** Map names of the stored format: documents, their collection's statistics, unique indexes. */
  static final String DOCUMENTS = "tidemark.docs.";
  static final String STATISTICS = "tidemark.stats.";
  static final String INDEXES = "tidemark.index.";

  final MVStore store;
  private final LongAdder scannedObjects = new LongAdder();
  private final ThreadLocal<Boolean> recording = ThreadLocal.withInitial(() -> Boolean.TRUE);
  private volatile ChangeStreamOplog oplog;

  Storage(MVStore store) {
    this.store = store;
  }

  ChangeStreamOplog oplog() {
    return oplog;
  }

  void oplog(ChangeStreamOplog oplog) {
    this.oplog = oplog;
  }

  /**
   * Runs a command that was given {@code commandOplog}: its writes are recorded in the oplog only
   * when that is the server's oplog. mongo-java-server passes {@code NoopOplog} (and a caller may
   * pass an oplog of its own) for writes that must leave no entry, or that it records itself.
   */
  <T> T command(de.bwaldvogel.mongo.oplog.Oplog commandOplog, java.util.function.Supplier<T> work) {
    Boolean outer = recording.get();
    recording.set(commandOplog == oplog);
    try {
      return work.get();
    } finally {
      recording.set(outer);
    }
  }

  /** Whether the command in progress on this thread records its writes (outside a command: yes). */
  boolean recording() {
    return recording.get();
  }

  /** The UUID of the collection {@code namespace} while its maps exist, or null. */
  java.util.UUID collectionUuid(String namespace) {
    String name = STATISTICS + namespace;
    if (!store.hasMap(name)) return null;
    return EmbeddedCollection.uuid(store.openMap(name, new org.h2.mvstore.MVMap.Builder<String, Long>()
        .keyType(org.h2.mvstore.type.StringDataType.INSTANCE).valueType(org.h2.mvstore.type.LongDataType.INSTANCE)));
  }

  void examined() {
    scannedObjects.increment();
  }

  long scannedObjects() {
    return scannedObjects.sum();
  }
}
