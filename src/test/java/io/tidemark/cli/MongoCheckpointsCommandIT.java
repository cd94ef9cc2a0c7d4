package io.tidemark.cli;

import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.ConfigFactory;
import io.tidemark.checkpoint.MongoCheckpointSettings;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.connection.MongoConnector;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.testkit.FaultyMongo;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@code tidemark checkpoints ... --mongodb URI} against checkpoints written by the MongoDB store: the
 * {@link CheckpointsCommandScenarios}, "orders" and "held" in tidemark.tidemark_checkpoints.
 */
class MongoCheckpointsCommandIT extends CheckpointsCommandScenarios {
  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
  private final MongoCheckpointSettings settings = MongoCheckpointSettings.create(ConfigFactory.load());

  @BeforeAll
  void writeCheckpoints() throws Exception {
    writeTheCheckpoints(MongoCheckpointStore.create(client, settings));
  }

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  @Override
  protected String[] storeFlags() {
    return new String[] {"--mongodb", mongo.uri()};
  }

  @Override
  protected String storeNamedInErrors() {
    return "tidemark.tidemark_checkpoints";
  }

  @Override
  protected String[] anotherStoresFlags() {
    return new String[] {"--checkpoints", "jdbc:h2:mem:x"};
  }
}
