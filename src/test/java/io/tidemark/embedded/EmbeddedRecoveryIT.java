package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A store file whose header lags far behind its newest commit — what a crash leaves when the
 * chain of chunks from the header is broken — reopens at that newest commit: the commit mark
 * names it, and the file is recovered from a scan of it when MVStore's own recovery falls short.
 */
class EmbeddedRecoveryIT {
  private static final int HEADER_BYTES = 2 * 4096;

  @Test
  void aStoreWhoseHeaderLagsFarBehindReopensAtItsNewestCommit(@TempDir Path dir) throws Exception {
    Path data = dir.resolve("data");
    Path crashed = dir.resolve("crashed");
    Files.createDirectories(crashed);
    int updates = 3_000;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      List<Document> batch = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) batch.add(new Document("_id", i).append("n", 0));
      orders.insertMany(batch);
      byte[] staleHeader = new byte[HEADER_BYTES];
      try (RandomAccessFile file = new RandomAccessFile(data.resolve(EmbeddedMongo.STORE_FILE).toFile(), "r")) {
        file.readFully(staleHeader);
      }
      Random random = new Random(7);
      for (int i = 1; i <= updates; i++) {
        orders.updateOne(Filters.eq("_id", random.nextInt(2_000)), Updates.inc("n", 1));
        orders.updateOne(Filters.eq("_id", "acknowledged"), Updates.set("count", i), new UpdateOptions().upsert(true));
      }
      // The process dies here: its files as they are, the mark first (it never runs ahead of the store).
      Files.copy(data.resolve(EmbeddedMongo.COMMIT_MARK_FILE), crashed.resolve(EmbeddedMongo.COMMIT_MARK_FILE));
      Files.copy(data.resolve(EmbeddedMongo.STORE_FILE), crashed.resolve(EmbeddedMongo.STORE_FILE));
      try (RandomAccessFile file = new RandomAccessFile(crashed.resolve(EmbeddedMongo.STORE_FILE).toFile(), "rw")) {
        file.write(staleHeader);
      }
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(crashed, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      assertThat(orders.find(Filters.eq("_id", "acknowledged")).first()).as("the last acknowledged write")
          .isEqualTo(new Document("_id", "acknowledged").append("count", updates));
      long increments = 0;
      for (Document order : orders.find(Filters.type("_id", "int"))) increments += order.getInteger("n");
      assertThat(increments).as("every acknowledged increment").isEqualTo(updates);
    }
  }
}
