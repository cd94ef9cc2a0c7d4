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

  void examined() {
    scannedObjects.increment();
  }

  long scannedObjects() {
    return scannedObjects.sum();
  }
}
