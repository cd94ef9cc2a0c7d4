package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoWriteException;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.ChangeStreamPreAndPostImagesOptions;
import com.mongodb.client.model.CreateCollectionOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.IndexOptions;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import io.tidemark.Await;
import io.tidemark.TidemarkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What the embedded server keeps on disk, and what it lets go of. */
class EmbeddedStorageIT {

  private static List<Document> orders(int from, int count) {
    List<Document> batch = new ArrayList<>();
    for (int i = from; i < from + count; i++) {
      batch.add(new Document("_id", i).append("customer", "c" + (i % 100)).append("total", i % 1_000).append("status", "new"));
    }
    return batch;
  }

  @Test
  void documentsAndOplogEntriesTakeAboutTheirBsonSizeOnDisk(@TempDir Path data) throws Exception {
    int documents = 20_000;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < documents; i += 1_000) orders.insertMany(orders(i, 1_000));
    }
    long bytes = Files.size(data.resolve(EmbeddedMongo.STORE_FILE));
    // Each document is about 70 bytes of BSON and its oplog entry about 150: some 4.4 MB in all.
    // Stored Java-serialized (as mongo-java-server's H2 backend stores them) they take several KB each.
    assertThat(bytes).as("data file of %,d documents and their oplog entries", documents).isLessThan(12L * 1024 * 1024);
  }

  @Test
  void documentsIndexesAndRenamesSurviveARestart(@TempDir Path data) {
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      orders.insertMany(orders(0, 10));
      orders.createIndex(Indexes.ascending("customer", "total"), new IndexOptions().unique(true));
      client.getDatabase("shop").getCollection("scratch").insertOne(new Document("_id", "x"));
      client.getDatabase("shop").getCollection("scratch").drop();
      client.getDatabase("shop").getCollection("old").insertOne(new Document("_id", "moved"));
      client.getDatabase("shop").getCollection("old").renameCollection(new com.mongodb.MongoNamespace("shop", "new"));
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      assertThat(orders.find().sort(Sorts.descending("_id")).first()).isEqualTo(orders(9, 1).get(0));
      assertThatThrownBy(() -> orders.insertOne(new Document("_id", 99).append("customer", "c1").append("total", 1)))
          .isInstanceOfSatisfying(MongoWriteException.class, e -> assertThat(e.getCode()).isEqualTo(11000));
      assertThatThrownBy(() -> orders.insertOne(new Document("_id", 1)))
          .isInstanceOfSatisfying(MongoWriteException.class, e -> assertThat(e.getCode()).isEqualTo(11000));
      assertThat(client.getDatabase("shop").listCollectionNames().into(new ArrayList<>())).containsExactlyInAnyOrder("orders", "new");
      assertThat(client.getDatabase("shop").getCollection("new").find().first()).isEqualTo(new Document("_id", "moved"));
    }
  }

  /**
   * A pre-image is kept in its oplog entry, so it is committed with it and read back after a
   * restart; the collection's option and its UUID survive too.
   */
  @Test
  void preImagesAndTheCollectionsOptionSurviveARestart(@TempDir Path data) {
    BsonTimestamp start;
    Object uuid;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoDatabase shop = client.getDatabase("shop");
      shop.createCollection("orders", new CreateCollectionOptions()
          .changeStreamPreAndPostImagesOptions(new ChangeStreamPreAndPostImagesOptions(true)));
      start = shop.runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);
      shop.getCollection("orders").insertOne(new Document("_id", 1).append("a", 1));
      shop.getCollection("orders").updateOne(Filters.eq("_id", 1), Updates.set("a", 2));
      uuid = collectionInfo(shop).get("uuid");
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoDatabase shop = client.getDatabase("shop");
      shop.getCollection("orders").deleteOne(Filters.eq("_id", 1));
      List<org.bson.BsonValue> before = new ArrayList<>();
      try (var cursor = shop.getCollection("orders").watch().startAtOperationTime(start)
          .fullDocumentBeforeChange(FullDocumentBeforeChange.REQUIRED).withDocumentClass(org.bson.BsonDocument.class).cursor()) {
        Await.until(Duration.ofSeconds(10), () -> {
          org.bson.BsonDocument event = cursor.tryNext();
          if (event != null && !event.getString("operationType").getValue().equals("insert")) before.add(event.get("fullDocumentBeforeChange"));
          return before.size() == 2;
        }, () -> "the update and the delete, with their pre-images: " + before);
      }
      assertThat(before).containsExactly(org.bson.BsonDocument.parse("{_id: 1, a: 1}"), org.bson.BsonDocument.parse("{_id: 1, a: 2}"));
      assertThat(collectionInfo(shop).get("uuid")).isEqualTo(uuid);
    }
  }

  private static org.bson.BsonDocument collectionInfo(MongoDatabase database) {
    return database.listCollections(org.bson.BsonDocument.class).first().getDocument("info");
  }

  @Test
  void theOplogIsCappedInBytesByDefault(@TempDir Path data) {
    assertThat(EmbeddedSettings.defaults().oplogMaxBytes).isPositive();
    long cap = 64 * 1024;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults().withOplogMaxBytes(cap));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < 5_000; i += 500) orders.insertMany(orders(i, 500));
      Document stats = client.getDatabase("local").runCommand(new Document("collStats", "oplog.rs"));
      assertThat(stats.get("size", Number.class).longValue()).isBetween(cap / 2, cap);
      assertThat(stats.get("maxSize", Number.class).longValue()).isEqualTo(cap);
      Document oldest = client.getDatabase("local").getCollection("oplog.rs").find().sort(Sorts.ascending("$natural")).first();
      assertThat(((Document) oldest.get("o")).getInteger("_id")).as("the oldest entry still held").isGreaterThan(4_000);
    }
  }

  @Test
  void aMinimumRetentionKeepsYoungEntriesBeyondTheCap() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(
            EmbeddedSettings.defaults().withOplogMaxEntries(10).withOplogMinRetention(Duration.ofHours(1)));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      client.getDatabase("shop").getCollection("orders").insertMany(orders(0, 50));
      assertThat(client.getDatabase("local").getCollection("oplog.rs").countDocuments()).as("the collection's create and 50 inserts")
          .isEqualTo(51);
    }
  }

  @Test
  void entriesOlderThanTheMaximumAgeAreTruncated() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withOplogMaxAge(Duration.ofSeconds(1)));
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      orders.insertOne(new Document("_id", "old"));
      long written = Instant.now().getEpochSecond();
      // the cap counts whole seconds of oplog time
      Await.until(Duration.ofSeconds(10), () -> Instant.now().getEpochSecond() >= written + 3, () -> "three seconds later");
      orders.insertOne(new Document("_id", "new"));
      List<Object> held = new ArrayList<>();
      client.getDatabase("local").getCollection("oplog.rs").find().forEach(entry -> held.add(((Document) entry.get("o")).get("_id")));
      assertThat(held).containsExactly("new");
    }
  }

  @Test
  void aDataDirectoryOfTheEarlierFormatIsRefusedWithWhatToDo(@TempDir Path data) throws Exception {
    Files.createDirectories(data);
    MVStore legacy = new MVStore.Builder().fileName(data.resolve(EmbeddedMongo.STORE_FILE).toString()).open();
    MongoServer stock = new MongoServer(new H2Backend(legacy));
    String uri = "mongodb://" + stock.bind().getHostString() + ":" + stock.getLocalAddress().getPort();
    try (MongoClient client = MongoClients.create(uri)) {
      client.getDatabase("shop").getCollection("orders").insertOne(new Document("_id", 1));
    } finally {
      stock.shutdownNow();
    }
    assertThatThrownBy(() -> EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults()))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("earlier Tidemark version")
        .hasMessageContaining(data.toString());
  }

  @Test
  void aStoreThatReopensBehindItsLastAcknowledgedCommitIsRefused(@TempDir Path data) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      client.getDatabase("shop").getCollection("orders").insertMany(orders(0, 10));
    }
    // as if commits had been acknowledged that the file no longer holds
    long marked = CommitMark.read(data.resolve(EmbeddedMongo.COMMIT_MARK_FILE));
    assertThat(marked).as("the newest commit is marked beside the store").isPositive();
    try (CommitMark mark = CommitMark.open(data.resolve(EmbeddedMongo.COMMIT_MARK_FILE))) {
      mark.mark(marked + 1_000);
    }
    assertThatThrownBy(() -> EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults()))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("but commit " + (marked + 1_000) + " had acknowledged writes: the file lost them")
        .hasMessageContaining(EmbeddedMongo.COMMIT_MARK_FILE);
  }

  @Test
  void timestampsGoOnAfterTheNewestEntryAcrossARestart(@TempDir Path data) {
    BsonTimestamp before;
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      client.getDatabase("shop").getCollection("orders").insertMany(orders(0, 100));
      before = client.getDatabase("local").getCollection("oplog.rs").find().sort(Sorts.descending("$natural")).first()
          .get("ts", BsonTimestamp.class);
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      client.getDatabase("shop").getCollection("orders").deleteOne(Filters.eq("_id", 0));
      Document newest = client.getDatabase("local").getCollection("oplog.rs").find().sort(Sorts.descending("$natural")).first();
      assertThat(newest.getString("op")).isEqualTo("d");
      assertThat(newest.get("ts", BsonTimestamp.class)).isGreaterThan(before);
    }
  }
}
