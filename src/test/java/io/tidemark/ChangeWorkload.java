package io.tidemark;

import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.bson.BsonTimestamp;
import org.bson.Document;

/**
 * The writes the process tests put a stream under, and what they audit the output against: the
 * collection's own change stream from a time before the writes.
 */
public final class ChangeWorkload {
  private ChangeWorkload() {}

  /**
   * Inserts {@code _id} 0 .. {@code inserts - 1} ({@code n = 0}) and, after every third insert, an
   * increment of {@code n} on an earlier document chosen by {@code seed}: {@link #events} of them.
   */
  public static void insertsAndUpdates(MongoCollection<Document> collection, int inserts, long seed) {
    Random random = new Random(seed);
    for (int i = 0; i < inserts; i++) {
      collection.insertOne(new Document("_id", i).append("n", 0));
      if (i % 3 == 2) collection.updateOne(Filters.eq("_id", random.nextInt(i)), Updates.inc("n", 1));
    }
  }

  /** The change events {@link #insertsAndUpdates} makes for {@code inserts} inserts. */
  public static int events(int inserts) {
    return inserts + inserts / 3;
  }

  /** The resume tokens' {@code _data} of the collection's first {@code count} change events from {@code before} on. */
  public static Set<String> tokensSince(MongoCollection<Document> collection, BsonTimestamp before, long count) {
    Set<String> tokens = new HashSet<>();
    try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> cursor = collection.watch().startAtOperationTime(before).cursor()) {
      while (tokens.size() < count) {
        ChangeStreamDocument<Document> event = cursor.tryNext();
        if (event != null) tokens.add(event.getResumeToken().getString("_data").getValue());
      }
    }
    return tokens;
  }
}
