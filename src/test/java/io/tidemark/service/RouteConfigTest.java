package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * A route transform and its sink, as the service makes the stream's sink at start (nothing
 * connects): a {@code {route}} in a sink's targets needs a route transform, a route transform needs
 * a sink whose targets take it, and a routed database needs a default route. Each refusal is one
 * line naming the key.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RouteConfigTest {
  private static final String ROUTE = "transforms = [{ type = route, routes = [{ namespaces = \"shop\\\\.orders_\\\\d+\", to = orders }] }]";
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "route-config", ConfigFactory.load());

  @AfterAll
  void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private ServiceStreams streams(String stream) {
    Config config = ConfigFactory.parseString("tidemark.streams.orders { source { database = shop }, " + stream + " }")
        .withFallback(ConfigFactory.load()).resolve();
    return ServiceStreams.create(system, ServiceStreams.check(config, getClass().getClassLoader()));
  }

  @Test
  void theKafkaTopicAndTheMongodbTargetsTakeTheRoute() {
    try (ServiceStreams kafka = streams(ROUTE + ", sink { type = kafka, topic = \"cdc.{route}\" }");
        ServiceStreams mongodb = streams(ROUTE + ", sink { type = mongodb, database = views, collection = \"{route}\" }");
        ServiceStreams both = streams("transforms = [{ type = route, routes = [{ namespaces = \"shop\\\\.(.*)\", to = \"$1\" }], default = other }],"
            + " sink { type = mongodb, database = \"{route}_view\", collection = \"{collection}\" }")) {
      assertThat(kafka.sink("orders").takesRoutes()).isTrue();
      assertThat(mongodb.sink("orders").takesRoutes()).isTrue();
      assertThat(both.sink("orders").takesRoutes()).isTrue();
      assertThat(kafka.definition("orders").transforms().routes().routeOf("shop.orders_7")).isEqualTo("orders");
    }
  }

  @Test
  void tailTakesTheStreamWithoutItsRoute() {
    try (ServiceStreams kafka = streams(ROUTE + ", sink { type = kafka, topic = \"cdc.{route}\" }")) {
      StreamDefinition tail = kafka.definition("orders").withSink(io.tidemark.sink.EventFormat.RELAXED_JSON, "stdout", ConfigFactory.empty());
      assertThat(tail.transforms().routes().isEmpty()).isTrue();
    }
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      sink { type = stdout }                                          | invalid config key tidemark.streams.orders.transforms[0]: the route transform routes nothing: the stream's stdout sink has no {route} in its targets
      sink { type = kafka, topic = "cdc.{db}" }                       | invalid config key tidemark.streams.orders.transforms[0]: the route transform routes nothing: the stream's kafka sink has no {route}
      sink { type = mongodb, database = "{route}" }                   | invalid config key tidemark.streams.orders.sink.database = "{route}": an event no route matches is routed to its namespace
      """)
  void aRouteTheSinkCannotTakeIsOneLineNamingTheKey(String sink, String message) {
    assertThatThrownBy(() -> streams(ROUTE + ", " + sink).close()).isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n"));
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      sink { type = kafka, topic = "cdc.{route}" }                    | invalid config key tidemark.streams.orders.sink.topic = "cdc.{route}": {route} is the route a route transform gives, and the stream has none
      sink { type = mongodb, database = views, collection = "{route}" } | invalid config key tidemark.streams.orders.sink.collection = "{route}": {route} is the route a route transform gives, and the stream has none
      """)
  void aRoutePlaceholderWithoutARouteTransformIsOneLineNamingTheKey(String sink, String message) {
    assertThatThrownBy(() -> streams(sink).close()).isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n"));
  }
}
