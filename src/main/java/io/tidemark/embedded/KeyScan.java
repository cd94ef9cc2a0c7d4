package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.h2.mvstore.Cursor;
import org.h2.mvstore.MVMap;
import org.h2.mvstore.MVStore;

/**
 * Reads a collection's documents in key order (ascending or descending) over a {@link KeyRange},
 * keeping those that match, a batch at a time. Each batch seeks to where the last one ended
 * (O(log n)) and reads on, so a scan holds neither a lock nor a store version between batches,
 * and a batch is as cheap as the documents it reads. Within a batch the store version it reads
 * is registered, so that no commit meanwhile frees the pages it is reading.
 */
final class KeyScan {
  /** One document read, with the size it is stored with. */
  record Found(Object key, Document document, int bytes) {}

  private final MVStore store;
  private final MVMap<Object, byte[]> documents;
  private final KeyRange range;
  private final boolean reverse;
  private final Predicate<Document> filter;
  private final Runnable examined;
  private long toSkip;
  private long remaining;
  private Object last;
  private boolean started;
  private int nextPoint;
  private boolean done;

  /**
   * @param limit at most this many matches (0: no limit), after skipping {@code skip}
   * @param examined called for every document read, whether it matches or not
   */
  KeyScan(MVStore store, MVMap<Object, byte[]> documents, KeyRange range, boolean reverse, Predicate<Document> filter,
      long skip, long limit, Runnable examined) {
    this.store = store;
    this.documents = documents;
    this.range = range;
    this.reverse = reverse;
    this.filter = filter;
    this.examined = examined;
    this.toSkip = skip;
    this.remaining = limit > 0 ? limit : Long.MAX_VALUE;
    this.done = range.isEmpty() || remaining == 0;
  }

  boolean done() {
    return done;
  }

  /** The next matches, at most {@code maxDocuments} and about {@code maxBytes} (at least one, if any is left). */
  List<Found> next(int maxDocuments, long maxBytes) {
    List<Found> batch = new ArrayList<>();
    if (done) return batch;
    MVStore.TxCounter version = store.registerVersionUsage();
    try {
      if (range.points != null) {
        readPoints(batch, maxDocuments, maxBytes);
      } else {
        readRange(batch, maxDocuments, maxBytes);
      }
    } finally {
      store.deregisterVersionUsage(version);
    }
    return batch;
  }

  private void readPoints(List<Found> batch, int maxDocuments, long maxBytes) {
    List<Object> points = range.points;
    long bytes = 0;
    while (nextPoint < points.size() && batch.size() < maxDocuments && bytes < maxBytes && remaining > 0) {
      Object point = points.get(reverse ? points.size() - 1 - nextPoint : nextPoint);
      nextPoint++;
      byte[] stored = documents.get(point);
      if (stored == null) continue;
      bytes += take(batch, point, stored);
    }
    done = nextPoint >= points.size() || remaining == 0;
  }

  private void readRange(List<Found> batch, int maxDocuments, long maxBytes) {
    Object from = started ? last : (reverse ? range.upper : range.scanStart());
    Cursor<Object, byte[]> cursor = documents.cursor(from, null, reverse);
    long bytes = 0;
    while (cursor.hasNext()) {
      Object key = cursor.next();
      if (started && DocumentKeyType.INSTANCE.compare(key, last) == 0) continue;
      int position = range.position(key) * (reverse ? -1 : 1);
      if (position < 0) continue; // before the range in the direction of the scan (an exclusive bound, another type)
      if (position > 0) {
        done = true;
        return;
      }
      if (batch.size() >= maxDocuments || bytes >= maxBytes || remaining == 0) {
        // full: the next one is read by the next batch
        done = remaining == 0;
        return;
      }
      started = true;
      last = key;
      bytes += take(batch, key, cursor.getValue());
    }
    done = true;
  }

  private int take(List<Found> batch, Object key, byte[] stored) {
    examined.run();
    Document document = StoredDocuments.decode(stored);
    if (!filter.test(document)) return 0;
    if (toSkip > 0) {
      toSkip--;
      return 0;
    }
    remaining--;
    batch.add(new Found(key, document, stored.length));
    return stored.length;
  }
}
