package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.model.Sorts;
import io.tidemark.TidemarkException;
import io.tidemark.testkit.FailCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded server listens only once it is open, and a server of this process that does not
 * answer is reported as what it is — open, listening, starved — not as an unreachable MongoDB.
 */
class EmbeddedStartIT {

  @Test
  void startReturnsAnOpenServerThatAnswersAtOnce(@TempDir Path data) {
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      List<Document> orders = new ArrayList<>();
      for (int i = 0; i < 20_000; i++) orders.add(new Document("_id", i).append("total", i));
      client.getDatabase("shop").getCollection("orders").insertMany(orders);
    }
    try (EmbeddedMongo mongo = EmbeddedMongo.start(data, "127.0.0.1", 0, EmbeddedSettings.defaults())) {
      mongo.awaitAnswering(Duration.ofSeconds(10));
      try (MongoClient client = MongoClients.create(mongo.connectionString())) {
        Document last = client.getDatabase("shop").getCollection("orders").find().sort(Sorts.descending("_id")).first();
        assertThat(last).isEqualTo(new Document("_id", 19_999).append("total", 19_999));
      }
    }
  }

  @Test
  void pingsAreRepeatedUntilTheServerAnswers() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withTestCommands(true))) {
      try (MongoClient client = MongoClients.create(mongo.connectionString())) {
        // the next three pings are cut off, as a server too busy to answer for a while would leave them
        client.getDatabase("admin").runCommand(FailCommand.on("ping").closeConnection().times(3).command());
      }
      mongo.awaitAnswering(Duration.ofSeconds(60));
      try (MongoClient client = MongoClients.create(mongo.connectionString())) {
        assertThat(client.getDatabase("admin").runCommand(new Document("ping", 1)).get("ok")).isEqualTo(1.0);
      }
    }
  }

  @Test
  void aServerOfThisProcessThatDoesNotAnswerIsNamedWithTheCause() {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults().withTestCommands(true))) {
      try (MongoClient client = MongoClients.create(mongo.connectionString())) {
        // from now on every ping is cut off, as a server too busy to answer would leave it
        client.getDatabase("admin").runCommand(FailCommand.on("ping").closeConnection().command());
      }
      assertThatThrownBy(() -> mongo.awaitAnswering(Duration.ofSeconds(2)))
          .isInstanceOf(TidemarkException.class)
          .hasMessageContaining("the embedded MongoDB of this process")
          .hasMessageContaining("is open and listening on " + mongo.connectionString())
          .hasMessageContaining("did not answer a ping within 2 s")
          .hasMessageContaining("load average")
          .hasMessageNotContaining("unreachable");
    }
  }
}
