package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.service.StreamDefinition;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The mongodb sink's settings: what it accepts, and each bad value refused with its key named, before anything connects. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoSinkSettingsTest {
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "mongo-sink-settings", ConfigFactory.load());

  @AfterAll
  void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private ConfiguredSink sink(String block) {
    Config config = ConfigFactory.parseString("tidemark.streams.orders { source { database = shop, collection = orders }, sink { type = mongodb, "
        + block + " } }").withFallback(ConfigFactory.load()).resolve();
    StreamDefinition definition = StreamDefinition.parse("orders", config, Sinks.builtIn());
    return Sinks.builtIn().forType("mongodb").create(new SinkContext("orders", definition.sink(), system));
  }

  @Test
  void anotherDeploymentOrAnotherNamespaceIsAView() {
    try (ConfiguredSink other = sink("uri = \"mongodb://replica:27017/?replicaSet=rs1\"");
        ConfiguredSink renamed = sink("database = \"{db}_view\"");
        ConfiguredSink byStream = sink("database = views, collection = \"{stream}_{collection}\"")) {
      assertThat(other.guarantee()).isEqualTo("effectively-once");
      assertThat(renamed.guarantee()).isEqualTo("effectively-once");
      assertThat(byStream).isInstanceOf(MongoSink.class);
    }
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', textBlock = """
      ''                                     | invalid config key tidemark.streams.orders.sink.uri: the mongodb sink would write each document back into the collection it came from
      'uri = "http://replica"'               | invalid config key tidemark.streams.orders.sink.uri: malformed MongoDB URI
      'database = "{database}_view"'         | invalid config key tidemark.streams.orders.sink.database = "{database}_view": unknown placeholder {database}: expected {db}, {collection}, {stream} or {route}
      'database = "a.b"'                     | invalid config key tidemark.streams.orders.sink.database: the database name "a.b" is not one MongoDB takes
      'collection = "$orders"'               | invalid config key tidemark.streams.orders.sink.collection: the collection name "$orders" is not one MongoDB takes
      'database = v, positions-database = ""' | invalid config key tidemark.streams.orders.sink.positions-database = ""
      'database = v, batch-size = 10'        | unknown config key tidemark.streams.orders.sink.batch-size: the mongodb sink reads collection, database, format, positions-database, type, uri
      """)
  void aBadSettingIsOneLineNamingTheKey(String block, String message) {
    assertThatThrownBy(() -> sink(block)).isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n"));
  }
}
