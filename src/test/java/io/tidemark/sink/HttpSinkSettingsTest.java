package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.service.StreamDefinition;
import io.tidemark.source.Envelopes;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** The http sink's settings, each bad one refused naming its key (never a header's value); its backoff; its keys. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class HttpSinkSettingsTest {
  private final ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "http-sink-settings", ConfigFactory.load());

  @AfterAll
  void stop() throws Exception {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  private ConfiguredSink sink(String block) {
    Config config = ConfigFactory.parseString("tidemark.streams.hook { source { database = shop }, sink { type = http, " + block + " } }")
        .withFallback(ConfigFactory.load()).resolve();
    StreamDefinition definition = StreamDefinition.parse("hook", config, Sinks.builtIn());
    return Sinks.builtIn().forType("http").create(new SinkContext("hook", definition.sink(), system));
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', textBlock = """
      ''                                                          | missing config key tidemark.streams.hook.sink.url: expected an http:// or https:// URL
      'url = "ftp://files/x"'                                     | invalid config key tidemark.streams.hook.sink.url = "ftp://files/x": expected an http:// or https:// URL
      'url = "https://user:pw@hooks/x?sig=abc"'                   | -
      'url = "http://h/x", headers { content-type = text/plain }' | invalid config key tidemark.streams.hook.sink.headers."content-type": the http sink sets content-type itself
      'url = "http://h/x", headers { "a b" = x }'                 | invalid config key tidemark.streams.hook.sink.headers."a b": expected an HTTP header name
      'url = "http://h/x", headers { x-list = [1] }'              | invalid config key tidemark.streams.hook.sink.headers."x-list": expected a string
      'url = "http://h/x", headers { authorization = "secret\\nX-Other: 1" }' | invalid config key tidemark.streams.hook.sink.headers."authorization": its value holds a line break or another control character (the value is not shown)
      'url = "http://h/x", retry { min-backoff = 2s, max-backoff = 1s }' | invalid config key tidemark.streams.hook.sink.retry.max-backoff = 1000ms: expected at least retry.min-backoff (2000ms)
      'url = "http://h/x", retry.max-attempts = 0'                | invalid config key tidemark.streams.hook.sink.retry.max-attempts = 0
      'url = "http://h/x", batch.max-wait = 0s'                   | invalid config key tidemark.streams.hook.sink.batch.max-wait
      'url = "http://h/x", dead-letter { enabled = on, database = "a.b" }' | invalid config key tidemark.streams.hook.sink.dead-letter.database: the database name "a.b" is not one MongoDB takes
      'url = "http://h/x", topic = x'                             | unknown config key tidemark.streams.hook.sink.topic: the http sink reads batch, dead-letter, format, headers, request-timeout, retry, type, url
      """)
  void aBadSettingIsOneLineNamingTheKey(String block, String message) {
    if (message.equals("-")) {
      assertThat(sink(block).guarantee()).isEqualTo("at-least-once");
      return;
    }
    assertThatThrownBy(() -> sink(block)).isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n").doesNotContain("secret"));
  }

  @Test
  void theBackoffDoublesFromTheMinimumUpToTheMaximum() {
    HttpSink sink = (HttpSink) sink("url = \"http://h/x\", retry { min-backoff = 100ms, max-backoff = 1s }");
    assertThat(sink.backoff(1)).isEqualTo(Duration.ofMillis(100));
    assertThat(sink.backoff(2)).isEqualTo(Duration.ofMillis(200));
    assertThat(sink.backoff(4)).isEqualTo(Duration.ofMillis(800));
    assertThat(sink.backoff(5)).isEqualTo(Duration.ofSeconds(1));
    assertThat(sink.backoff(40)).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void anEventsKeyIsItsStreamAndTheHashOfItsResumeTokenTheSameOnEveryDelivery() {
    String key = HttpSink.keyOf("hook", Envelopes.event(1, 7, "a"));
    assertThat(key).matches("hook:[0-9a-f]{64}");
    assertThat(HttpSink.keyOf("hook", Envelopes.event(99, 7, "a"))).as("replayed under another number").isEqualTo(key);
    assertThat(HttpSink.keyOf("hook", Envelopes.event(2, 8, "a"))).isNotEqualTo(key);
    assertThat(HttpSink.keyOf("other", Envelopes.event(1, 7, "a"))).isNotEqualTo(key);
  }

  @Test
  void aUrlIsShownWithoutItsUserPasswordAndQuery() {
    assertThat(HttpSink.redact(URI.create("https://user:pw@hooks.example.com:8443/in/x?sig=abc"))).isEqualTo("https://hooks.example.com:8443/in/x?...");
    assertThat(HttpSink.redact(URI.create("http://hooks/in"))).isEqualTo("http://hooks/in");
  }
}
