package io.tidemark.bench;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoChangeStreamCursor;
import com.mongodb.client.MongoCursor;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.Document;
import org.h2.mvstore.MVStore;

/**
 * Reading a change stream that is {@code n} events behind, on mongo-java-server's stock oplog
 * (which scans the whole oplog on every getMore) and on the kit's (which seeks to the position in
 * its ordered map): the time from opening the stream at the first event to having read all of
 * them, in events per second. Both in memory, the same JVM, the same client, batches of 1,000.
 */
final class OplogBenchmark {
  private OplogBenchmark() {}

  /** One measurement: events read, and how long it took (or how far it got in the time allowed). */
  record Result(String oplog, int backlog, long read, long nanos) {
    double eventsPerSecond() {
      return read * 1e9 / nanos;
    }
  }

  static Result median(List<Result> results) {
    List<Result> sorted = new ArrayList<>(results);
    sorted.sort(java.util.Comparator.comparingDouble(Result::eventsPerSecond));
    return sorted.get(sorted.size() / 2);
  }

  interface Server extends AutoCloseable {
    String uri();

    @Override
    void close();
  }

  static Server stock() {
    MongoServer server = new MongoServer(new H2Backend(new MVStore.Builder().open()));
    server.enableOplog();
    InetSocketAddress address = server.bind();
    String uri = "mongodb://" + address.getHostString() + ":" + address.getPort();
    return new Server() {
      public String uri() {
        return uri;
      }

      public void close() {
        server.shutdownNow();
      }
    };
  }

  static Server kit() {
    EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(1_000_000));
    return new Server() {
      public String uri() {
        return mongo.connectionString();
      }

      public void close() {
        mongo.close();
      }
    };
  }

  static Result measure(String name, Server server, int backlog, long budgetNanos) {
    try (server; MongoClient client = MongoClients.create(server.uri())) {
      var orders = client.getDatabase("bench").getCollection("orders");
      BsonDocument from;
      try (MongoChangeStreamCursor<ChangeStreamDocument<Document>> first = orders.watch().cursor()) {
        orders.insertOne(new Document("_id", -1));
        ChangeStreamDocument<Document> event = first.next();
        from = event.getResumeToken();
      }
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < backlog; i++) {
        batch.add(new Document("_id", i).append("customer", "c" + (i % 100)).append("total", i % 1_000));
        if (batch.size() == 1_000) {
          orders.insertMany(batch);
          batch = new ArrayList<>();
        }
      }
      if (!batch.isEmpty()) orders.insertMany(batch);
      var watch = orders.watch().batchSize(1_000).resumeAfter(from);
      long read = 0;
      long start = System.nanoTime();
      long deadline = start + budgetNanos;
      try (MongoCursor<ChangeStreamDocument<Document>> cursor = watch.iterator()) {
        while (read < backlog && System.nanoTime() < deadline) {
          ChangeStreamDocument<Document> event = cursor.tryNext();
          if (event != null) read++;
        }
      }
      long nanos = System.nanoTime() - start;
      System.out.printf("%s oplog, %,d events behind: read %,d in %,d ms: %,.0f events/s%n",
          name, backlog, read, nanos / 1_000_000, read * 1e9 / nanos);
      return new Result(name, backlog, read, nanos);
    }
  }
}
