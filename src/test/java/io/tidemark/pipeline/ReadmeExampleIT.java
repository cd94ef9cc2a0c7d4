package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.client.model.Aggregates;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.mongodb.reactivestreams.client.MongoCollection;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The example in the README is this code, and it works. */
class ReadmeExampleIT {

  /** What the user's sink is in the example: anything that writes an event and says when it is done. */
  interface SearchIndex {
    CompletionStage<Done> apply(ChangeEnvelope event);
  }

  // README-BEGIN
  static PipelineControl syncOrders(ActorSystem<?> system, String mongoUri, SearchIndex index) {
    return Pipeline.named("orders-to-search")
        .mongoUri(mongoUri)
        .collection("shop", "orders")
        .match(Aggregates.match(Filters.in("operationType", "insert", "update", "replace", "delete")))
        .fullDocument(FullDocument.UPDATE_LOOKUP)
        .checkpoints(JdbcCheckpointStore.create(system))
        .via(FlowWithContext.<ChangeEnvelope, EventContext>create()
            .mapAsync(1, index::apply))
        .run(system);
  }
  // README-END

  @Test
  void theReadmeShowsThisExampleWordForWord() throws Exception {
    List<String> source = Files.readAllLines(Path.of("src/test/java/io/tidemark/pipeline/ReadmeExampleIT.java"));
    String example = source.subList(source.indexOf("  // README-BEGIN") + 1, source.indexOf("  // README-END")).stream()
        .map(line -> line.length() >= 2 ? line.substring(2) : line)
        .collect(Collectors.joining("\n"));
    assertThat(Files.readString(Path.of("README.md"))).contains(example);
  }

  @Test
  void theExampleKeepsAnIndexInStepWithTheCollection() throws Exception {
    var config = TestConfigs.h2Journal("readme_" + Long.toHexString(System.nanoTime())).withFallback(ConfigFactory.load());
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "readme", config);
    Map<Object, Document> index = new ConcurrentHashMap<>();
    SearchIndex searchIndex = event -> {
      Object id = event.documentKey().get("_id").asInt32().getValue();
      if ("delete".equals(event.operationType())) index.remove(id);
      else index.put(id, event.fullDocument());
      return CompletableFuture.completedFuture(Done.getInstance());
    };
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      PipelineControl control = syncOrders(system, mongo.connectionString(), searchIndex);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < 20; i++) MongoConnector.first(orders.insertOne(new Document("_id", i).append("status", "new"))).get();
      MongoConnector.first(orders.updateOne(Filters.eq("_id", 3), Updates.set("status", "paid"))).get();
      MongoConnector.first(orders.deleteOne(Filters.eq("_id", 4))).get();

      Await.until(Duration.ofSeconds(30), () -> index.size() == 19 && "paid".equals(index.get(3).getString("status")),
          () -> "the index to hold 19 orders with #3 paid: " + index);
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(index).doesNotContainKey(4);
      assertThat(control.stats().window().lastSaved()).isNotNull();
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
