package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.MongoConnector;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.Test;

class PipelineSmokeTest {
  @Test
  void deliversInsertsAndCheckpoints() throws Exception {
    ActorTestKit testKit = ActorTestKit.create();
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults())) {
      MongoClient client = MongoClients.create(mongo.connectionString());
      InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
      List<ChangeEnvelope> seen = new CopyOnWriteArrayList<>();
      PipelineBuilder<ChangeEnvelope> builder =
          Pipeline.named("smoke")
              .mongoClient(client)
              .collection("shop", "orders")
              .checkpoints(store)
              .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(e -> { seen.add(e); return e; }));
      PipelineControl control = builder.run(testKit.system());
      control.stats().started().toCompletableFuture().get(10, TimeUnit.SECONDS);
      for (int i = 0; i < 100; i++) {
        MongoConnector.first(client.getDatabase("shop").getCollection("orders").insertOne(new Document("_id", i))).get();
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
      while (seen.size() < 100 && System.nanoTime() < deadline) TimeUnit.MILLISECONDS.sleep(20);
      control.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);
      assertThat(seen).hasSize(100);
      assertThat(store.get("smoke")).isPresent();
      assertThat(store.get("smoke").get().resumeToken()).isEqualTo(seen.get(99).resumeToken());
      client.close();
    } finally {
      testKit.shutdownTestKit();
    }
  }
}
