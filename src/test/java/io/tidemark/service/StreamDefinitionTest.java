package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.cli.Main;
import io.tidemark.sink.EventFormat;
import io.tidemark.sink.Sinks;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bson.BsonDocument;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** A stream's configuration read into its definition, and every kind of invalid value refused with its key named. */
class StreamDefinitionTest {
  private static final Sinks SINKS = Sinks.builtIn();

  private static Config config(String stream) {
    return ConfigFactory.parseString("tidemark.streams.orders { " + stream + " }").withFallback(ConfigFactory.load()).resolve();
  }

  private static StreamDefinition orders(String stream) {
    return StreamDefinition.parse("orders", config(stream), SINKS);
  }

  @Test
  void everySourceSettingIsRead() {
    StreamDefinition definition = orders("""
        source {
          database = shop
          collection = orders
          include-namespaces = ["shop\\\\.orders.*"]
          exclude-namespaces = [".*\\\\.tmp"]
          operation-types = [insert, update]
          match = "{\\"fullDocument.status\\": \\"paid\\"}"
          full-document = updateLookup
          full-document-before-change = whenAvailable
          startup = snapshot-then-stream
          show-expanded-events = on
        }
        format = debezium
        sink { type = file, directory = "/tmp/out" }
        stages = ["com.acme.Enrich"]
        """);
    assertThat(definition.target()).isEqualTo("shop.orders");
    assertThat(definition.fullDocument()).isEqualTo(FullDocument.UPDATE_LOOKUP);
    assertThat(definition.fullDocumentBeforeChange()).isEqualTo(FullDocumentBeforeChange.WHEN_AVAILABLE);
    assertThat(definition.startup()).isEqualTo(io.tidemark.source.StartupMode.SNAPSHOT_THEN_STREAM);
    assertThat(orders("source { database = shop }, sink { type = stdout }").startup()).as("unset: the pipeline's default").isNull();
    assertThat(definition.showExpandedEvents()).isTrue();
    assertThat(definition.format()).isEqualTo(EventFormat.DEBEZIUM);
    assertThat(definition.sinkType()).isEqualTo("file");
    assertThat(definition.sink().getString("directory")).isEqualTo("/tmp/out");
    assertThat(definition.sink().getString("format")).as("the stream's format, handed to the sink").isEqualTo("debezium");
    assertThat(definition.sink().getBoolean("fsync")).as("the sink type's defaults behind the block").isTrue();
    assertThat(definition.stages()).containsExactly("com.acme.Enrich");
    assertThat(definition.transforms().isEmpty()).isTrue();
    assertThat(definition.pipeline()).containsExactly(
        BsonDocument.parse("{\"$match\": {\"operationType\": {\"$in\": [\"insert\", \"update\"]}}}"),
        BsonDocument.parse("{\"$match\": {\"fullDocument.status\": \"paid\"}}"));
    assertThat(definition.includes("shop.orders")).isTrue();
    assertThat(definition.includes("shop.orders_archive")).isTrue();
    assertThat(definition.includes("shop.orders.tmp")).as("excluded").isFalse();
    assertThat(definition.includes("shop.customers")).as("not included").isFalse();
  }

  @Test
  void withoutACollectionTheDatabaseAndWithoutADatabaseTheDeployment() {
    assertThat(orders("source { database = shop }, sink { type = stdout }").target()).isEqualTo("shop.*");
    StreamDefinition everything = orders("sink { type = stdout }");
    assertThat(everything.target()).isEqualTo("the whole deployment");
    assertThat(everything.format()).isEqualTo(EventFormat.RELAXED_JSON);
    assertThat(everything.fullDocument()).isEqualTo(FullDocument.DEFAULT);
    assertThat(everything.fullDocumentBeforeChange()).isEqualTo(FullDocumentBeforeChange.OFF);
    assertThat(everything.showExpandedEvents()).as("off by default").isFalse();
    assertThat(everything.pipeline()).isEmpty();
    assertThat(everything.includes("any.thing")).isTrue();
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      source { databse = shop }, sink { type = stdout }                  | unknown config key tidemark.streams.orders.source.databse
      sorce { database = shop }, sink { type = stdout }                  | unknown config key tidemark.streams.orders.sorce
      source { database = 3 }, sink { type = stdout }                    | invalid config key tidemark.streams.orders.source.database = 3: expected a non-empty string
      source { collection = orders }, sink { type = stdout }             | invalid config key tidemark.streams.orders.source.collection
      source { include-namespaces = "shop" }, sink { type = stdout }     | invalid config key tidemark.streams.orders.source.include-namespaces = "shop": expected a list
      source { include-namespaces = ["(shop"] }, sink { type = stdout }  | invalid config key tidemark.streams.orders.source.include-namespaces[0] = "(shop": expected a regular expression
      source { exclude-namespaces = [ok, "[x"] }, sink { type = stdout } | invalid config key tidemark.streams.orders.source.exclude-namespaces[1]
      source { operation-types = [insert, upsert] }, sink { type = stdout } | invalid config key tidemark.streams.orders.source.operation-types[1] = "upsert"
      source { match = "{status: " }, sink { type = stdout }             | invalid config key tidemark.streams.orders.source.match
      source { full-document = lookup }, sink { type = stdout }          | invalid config key tidemark.streams.orders.source.full-document = "lookup": expected default, updateLookup, whenAvailable, required
      source { full-document-before-change = on }, sink { type = stdout } | invalid config key tidemark.streams.orders.source.full-document-before-change = "on": expected off, whenAvailable, required
      source { startup = snapshot }, sink { type = stdout }              | invalid config key tidemark.streams.orders.source.startup = "snapshot": expected stream-only, snapshot-then-stream, snapshot-only
      source { show-expanded-events = sometimes }, sink { type = stdout } | invalid config key tidemark.streams.orders.source.show-expanded-events
      format = json, sink { type = stdout }                              | invalid config key tidemark.streams.orders.format = "json": expected relaxed-json, canonical-json, document or debezium
      source { database = shop }                                         | missing config key tidemark.streams.orders.sink: expected sink { type = file | http | jdbc | kafka | mongodb | stdout
      sink { directory = x }                                             | missing config key tidemark.streams.orders.sink.type
      sink { type = elastic }                                            | invalid config key tidemark.streams.orders.sink.type: unknown sink type "elastic": expected one of file, http, jdbc, kafka, mongodb, stdout
      sink { type = stdout }, stages = [1.5]                             | invalid config key tidemark.streams.orders.stages[0] = 1.5: expected a non-empty string
      sink { type = stdout }, stages = ["acme-stage"]                    | invalid config key tidemark.streams.orders.stages[0] = "acme-stage": expected a class name
      sink = stdout                                                      | invalid config key tidemark.streams.orders.sink = "stdout": expected an object
      sink { type = stdout }, transforms = [{ type = mask-fields }]      | invalid config key tidemark.streams.orders.transforms[0].type = "mask-fields": expected one of exclude-fields, filter, include-fields, rename-fields
      sink { type = stdout }, transform = []                             | unknown config key tidemark.streams.orders.transform: expected one of format, sink, source, stages, transforms
      """)
  void anInvalidValueIsOneLineNamingTheStreamAndTheKey(String stream, String message) {
    assertThatThrownBy(() -> orders(stream))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n"));
  }

  @Test
  void aStreamNameMustBeUsableAsACheckpointKey() {
    Config config = ConfigFactory.parseString("tidemark.streams { \"a b\" { sink { type = stdout } } }").withFallback(ConfigFactory.load());
    assertThatThrownBy(() -> StreamDefinition.all(config, SINKS)).hasMessageContaining("invalid stream name tidemark.streams.\"a b\"");
    assertThatThrownBy(() -> StreamDefinition.all(ConfigFactory.load(), SINKS)).hasMessageStartingWith("no streams configured");
  }

  @Test
  void aStageMustBeAStreamStageWithAPublicConstructor() {
    Config config = config("sink { type = stdout }, stages = [\"java.lang.String\"]");
    assertThatThrownBy(() -> ServiceStreams.check(config, getClass().getClassLoader()))
        .hasMessage("invalid config key tidemark.streams.orders.stages[0] = \"java.lang.String\": expected a class that implements "
            + StreamStage.class.getName() + " or " + io.tidemark.pipeline.EventHandler.class.getName());
    Config missing = config("sink { type = stdout }, stages = [\"com.acme.Missing\"]");
    assertThatThrownBy(() -> ServiceStreams.check(missing, getClass().getClassLoader()))
        .hasMessageContaining("tidemark.streams.orders.stages[0] = \"com.acme.Missing\": no such class");
    assertThat(ServiceStreams.check(config("sink { type = stdout }, stages = [\"" + UpperCaseStage.class.getName() + "\", \""
        + CountingHandler.class.getName() + "\"]"), getClass().getClassLoader()).stages().get("orders")).as("a stage and a handler").hasSize(2);
  }

  @Test
  void runRefusesAnInvalidStreamWithExitCode3AndOneLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("app.conf");
    Files.writeString(file, "tidemark.streams.orders { source { database = shop, colection = orders }, sink { type = stdout } }\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"run", "--config", file.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).isEqualTo(Main.BAD_INPUT);
    assertThat(err.toString().strip().lines().toList()).containsExactly(
        "error: unknown config key tidemark.streams.orders.source.colection: expected one of collection, database,"
            + " exclude-namespaces, full-document, full-document-before-change, include-namespaces, match, operation-types, show-expanded-events, startup");
    assertThat(List.of(out.toString())).containsExactly("");
  }
  @Test
  void runRefusesABadTransformWithExitCode3AndOneLine(@TempDir Path dir) throws Exception {
    Path file = dir.resolve("app.conf");
    Files.writeString(file, "tidemark.streams.orders { sink { type = stdout }, transforms = [{ type = rename-fields }] }\n");
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"run", "--config", file.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
    assertThat(code).isEqualTo(Main.BAD_INPUT);
    assertThat(err.toString().strip().lines().toList()).containsExactly(
        "error: missing config key tidemark.streams.orders.transforms[0].renames: expected renames { from = to, \"customer.name\" = client }");
  }

}
