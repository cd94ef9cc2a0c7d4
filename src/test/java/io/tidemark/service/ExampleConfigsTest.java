package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** Every file in conf/examples/ loads as the service loads it, and its streams and sinks are accepted. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ExampleConfigsTest {
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "examples", ConfigFactory.load());

  @AfterAll
  void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @Test
  void everyExampleIsAValidServiceConfiguration() throws Exception {
    List<Path> examples;
    try (Stream<Path> files = Files.list(Path.of("conf", "examples"))) {
      examples = files.filter(file -> file.toString().endsWith(".conf")).sorted().toList();
    }
    assertThat(examples).extracting(file -> file.getFileName().toString())
        .containsExactly("file.conf", "http.conf", "jdbc-mariadb.conf", "jdbc.conf", "kafka-routed.conf", "kafka.conf", "mongodb.conf", "stdout.conf");
    for (Path example : examples) {
      Config config = ServiceConfig.load(example, Map.of(), Map.of());
      ServiceStreams.Checked checked = ServiceStreams.check(config, getClass().getClassLoader());
      try (ServiceStreams streams = ServiceStreams.create(system, checked)) {
        assertThat(streams.names()).as(example.toString()).hasSize(1);
      }
    }
  }
}
