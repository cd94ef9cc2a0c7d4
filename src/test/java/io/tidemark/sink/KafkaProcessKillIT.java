package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.ChangeWorkload;
import io.tidemark.Clusters;
import io.tidemark.KafkaBroker;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code kafka} sink with {@code guarantee = exactly-once} in {@code tidemark run}, the node killed
 * with SIGKILL while a workload of inserts and updates goes on: after a restart, a {@code read_committed}
 * reader of the topic sees every change event of the collection exactly once (the checkpoints live
 * in Kafka too, committed in the same transactions as the records).
 */
class KafkaProcessKillIT {
  private static final int INSERTS = 600;

  @Test
  void exactlyOnceAcrossAKillMinus9OfTheNode(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    KafkaBroker broker = KafkaBroker.shared();
    String topic = "kill-orders-" + Long.toHexString(System.nanoTime());
    broker.createTopic(topic, 4, Map.of());
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString());
        TopicRecords committed = TopicRecords.follow(broker.bootstrapServers(), topic, true)) {
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline { window-size = 100, checkpoint.every-events = 50, parallelism = 4 }
            streams.orders-kafka {
              source { database = kafka_kill, collection = orders }
              sink { type = kafka, bootstrap-servers = "%s", guarantee = exactly-once, topic = "%s" }
            }
            sink.kafka.bootstrap-servers = "%s"
          }
          """.formatted(mongo.connectionString(), broker.bootstrapServers(), topic, broker.bootstrapServers()));
      MongoCollection<Document> orders = client.getDatabase("kafka_kill").getCollection("orders");
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);

      int management = Clusters.freePort();
      Path firstLog = dir.resolve("first.log");
      Process first = TidemarkProcess.start(firstLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      CompletableFuture<Void> workload;
      long atKill;
      try {
        Await.until(Duration.ofSeconds(120), () -> TidemarkProcess.started(management).containsKey("orders-kafka") || !first.isAlive(),
            () -> "the stream started; log:\n" + TidemarkProcess.read(firstLog));
        workload = CompletableFuture.runAsync(() -> ChangeWorkload.insertsAndUpdates(orders, INSERTS, 31));
        Await.until(Duration.ofSeconds(120), () -> committed.distinctEvents() >= 150 || !first.isAlive(),
            () -> "150 committed records before the kill; log:\n" + TidemarkProcess.read(firstLog));
        assertThat(first.isAlive()).as("the first run; log:\n%s", TidemarkProcess.read(firstLog)).isTrue();
      } finally {
        first.destroyForcibly(); // SIGKILL: an open transaction is left for the next producer of the id to abort
        first.waitFor(30, TimeUnit.SECONDS);
      }
      atKill = committed.distinctEvents();
      workload.get(180, TimeUnit.SECONDS);
      Set<String> expected = ChangeWorkload.tokensSince(orders, before, ChangeWorkload.events(INSERTS));

      Path secondLog = dir.resolve("second.log");
      Process second = TidemarkProcess.start(secondLog, "run", "--config", config.toString(), "--management-port", String.valueOf(management));
      try {
        Await.until(Duration.ofSeconds(180), () -> committed.distinctEvents() >= expected.size() || !second.isAlive(),
            () -> expected.size() + " committed events after the restart: " + committed.distinctEvents() + "; log:\n"
                + TidemarkProcess.read(secondLog));
        committed.awaitEnd(broker.bootstrapServers(), Duration.ofSeconds(60));
        assertThat(second.isAlive()).as("the second run; log:\n%s", TidemarkProcess.read(secondLog)).isTrue();
      } finally {
        second.destroy();
        if (!second.waitFor(60, TimeUnit.SECONDS)) second.destroyForcibly();
      }

      List<TopicRecords.Seen> records = committed.seen().stream().filter(seen -> !seen.tombstone()).toList();
      Map<String, Integer> times = new HashMap<>();
      // The resume token header holds the token as JSON: {"_data": "..."}.
      records.forEach(seen -> times.merge(org.bson.BsonDocument.parse(seen.token()).getString("_data").getValue(), 1, Integer::sum));
      System.out.printf("KafkaProcessKillIT: %d change events, %d committed records (%d at the kill), %d committed twice%n",
          expected.size(), records.size(), atKill, records.size() - times.size());
      assertThat(times.keySet()).as("every change event of the collection, nothing else").isEqualTo(expected);
      assertThat(times.values()).as("each committed exactly once, across the kill").allMatch(count -> count == 1);
    }
  }

}
