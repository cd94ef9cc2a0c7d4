package io.tidemark.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Sorts;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonTimestamp;
import org.bson.Document;

/** The events the benchmarks consume: inserts of small orders with ids 0, 1, 2, ..., one change event each. */
final class BenchEvents {
  private BenchEvents() {}

  static final String DATABASE = "bench";
  static final String COLLECTION = "events";

  static MongoCollection<Document> collection(MongoClient client) {
    return client.getDatabase(DATABASE).getCollection(COLLECTION);
  }

  /** Inserts orders {@code from} to {@code from + count - 1}, in batches of 1,000, printing progress for large counts. */
  static void insert(MongoClient client, int from, int count) {
    insert(client, from, count, 0);
  }

  /** The same, each order with a note of {@code noteBytes} characters (about 1 KB of BSON with {@code noteBytes = 950}). */
  static void insert(MongoClient client, int from, int count, int noteBytes) {
    MongoCollection<Document> events = collection(client);
    long start = System.nanoTime();
    String note = "n".repeat(noteBytes);
    List<Document> batch = new ArrayList<>(1_000);
    for (int id = from; id < from + count; id++) {
      Document order = new Document("_id", id).append("customer", "c" + (id % 100)).append("total", id % 1_000).append("status", "new");
      batch.add(noteBytes > 0 ? order.append("note", note) : order);
      if (batch.size() == 1_000) {
        events.insertMany(batch);
        batch = new ArrayList<>(1_000);
        int written = id - from + 1;
        if (count >= 50_000 && written % 50_000 == 0) System.out.printf("  written %,d of %,d events%n", written, count);
      }
    }
    if (!batch.isEmpty()) events.insertMany(batch);
    if (count >= 50_000) System.out.printf("  wrote %,d events in %,d ms%n", count, (System.nanoTime() - start) / 1_000_000);
  }

  /** The cluster time of the oldest event of the collection in the oplog: a stream started there reads them all. */
  static BsonTimestamp firstEventTime(MongoClient client) {
    Document first = client.getDatabase("local").getCollection("oplog.rs")
        .find(Filters.eq("ns", DATABASE + "." + COLLECTION)).sort(Sorts.ascending("ts")).first();
    if (first == null) throw new IllegalStateException("no event of " + DATABASE + "." + COLLECTION + " in the oplog");
    return first.get("ts", BsonTimestamp.class);
  }
}
