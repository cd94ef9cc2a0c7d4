package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.MongoNamespace;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.UpdateDescription;
import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import java.util.List;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** Each format's line for each kind of event, and the Debezium layout against Debezium's documentation. */
class EventFormatTest {
  private static final BsonTimestamp TIME = new BsonTimestamp(1_700_000_123, 7);
  private static final BsonDocument TOKEN = new BsonDocument("_data", new BsonString("8265A1B2C3000000072B022C0100296E5A1004"));
  private static final DebeziumEnvelope DEBEZIUM = DebeziumEnvelope.create("orders-out", "rs0");

  private static ChangeEnvelope event(String type, Document after, Document before, UpdateDescription update) {
    return ChangeEnvelope.of(12, new ChangeStreamDocument<>(
        type, TOKEN, new BsonDocument("db", new BsonString("shop")).append("coll", new BsonString("orders")), "collection", null,
        after, before, new BsonDocument("_id", new BsonInt32(42)), TIME, update, null, null, null, null, null));
  }

  private static final Document ORDER = new Document("_id", 42).append("total", 9.5).append("count", 3L);

  @Test
  void relaxedAndCanonicalJsonAreTheChangeEventInEachExtendedJsonMode() {
    ChangeEnvelope insert = event("insert", ORDER, null, null);
    BsonDocument relaxed = BsonDocument.parse(EventFormat.RELAXED_JSON.format(insert, DEBEZIUM));
    assertThat(relaxed.getString("operationType").getValue()).isEqualTo("insert");
    assertThat(relaxed.getDocument("_id")).isEqualTo(TOKEN);
    assertThat(EventFormat.RELAXED_JSON.format(insert, DEBEZIUM)).contains("\"count\": 3").doesNotContain("$numberLong");

    String canonical = EventFormat.CANONICAL_JSON.format(insert, DEBEZIUM);
    assertThat(canonical).contains("\"count\": {\"$numberLong\": \"3\"}").contains("\"$timestamp\"");
    assertThat(BsonDocument.parse(canonical).getDocument("fullDocument").get("count")).isEqualTo(new BsonInt64(3));
  }

  @Test
  void theDocumentFormatWritesTheDocumentAndADeleteAsATombstone() {
    assertThat(BsonDocument.parse(EventFormat.DOCUMENT.format(event("insert", ORDER, null, null), DEBEZIUM)))
        .isEqualTo(BsonDocument.parse("{\"_id\": 42, \"total\": 9.5, \"count\": 3}"));
    assertThat(EventFormat.DOCUMENT.format(event("delete", null, null, null), DEBEZIUM))
        .isEqualTo("{\"_id\": 42, \"__deleted\": true}");
    assertThat(EventFormat.DOCUMENT.format(event("update", null, null, new UpdateDescription(List.of(), new BsonDocument())), DEBEZIUM))
        .as("an update without its full document").isNull();
    ChangeEnvelope copied = ChangeEnvelope.snapshot(3, new MongoNamespace("shop", "orders"), TIME, ORDER);
    assertThat(BsonDocument.parse(EventFormat.DOCUMENT.format(copied, DEBEZIUM)).getInt32("_id").getValue()).isEqualTo(42);
  }

  @Test
  void formatsAreSpelledInConfigurationWithDashes() {
    assertThat(EventFormat.ofLabel("relaxed-json")).isEqualTo(EventFormat.RELAXED_JSON);
    assertThat(EventFormat.ofLabel("canonical-json")).isEqualTo(EventFormat.CANONICAL_JSON);
    assertThat(EventFormat.ofLabel("debezium").label()).isEqualTo("debezium");
    assertThat(EventFormat.ofLabel("json")).isNull();
  }

  /**
   * The layout Debezium documents for the value of a MongoDB change event
   * (https://debezium.io/documentation/reference/stable/connectors/mongodb.html#mongodb-events, "Change
   * event values"; the payload as its JSON converter writes it with schemas.enable=false): top-level
   * {@code before} (2.x, pre-images), {@code after}, {@code updateDescription} (updates: removedFields,
   * updatedFields, truncatedArrays), {@code source} (version, connector "mongodb", name, ts_ms, snapshot,
   * db, sequence, rs, collection, ord, lsid, txnNumber), {@code op} (c, u, d, r) and {@code ts_ms}; documents
   * are strings of extended JSON; a delete has after null.
   */
  @Test
  void theDebeziumEnvelopeHasTheFieldsDebeziumDocumentsForMongoDb() {
    Document before = new Document("_id", 42).append("total", 1.0);
    UpdateDescription update = new UpdateDescription(List.of("note"), new BsonDocument("total", new org.bson.BsonDouble(9.5)));
    BsonDocument value = BsonDocument.parse(EventFormat.DEBEZIUM.format(event("update", ORDER, before, update), DEBEZIUM));

    assertThat(value.keySet()).containsAll(List.of("before", "after", "updateDescription", "source", "op", "ts_ms"));
    assertThat(value.getString("op").getValue()).isEqualTo("u");
    assertThat(BsonDocument.parse(value.getString("after").getValue()).getDouble("total").getValue()).isEqualTo(9.5);
    assertThat(BsonDocument.parse(value.getString("before").getValue()).getDouble("total").getValue()).isEqualTo(1.0);
    assertThat(value.get("ts_ms").isNumber()).isTrue();

    BsonDocument description = value.getDocument("updateDescription");
    assertThat(description.keySet()).containsExactlyInAnyOrder("removedFields", "updatedFields", "truncatedArrays");
    assertThat(description.getArray("removedFields")).isEqualTo(new BsonArray(List.of(new BsonString("note"))));
    assertThat(BsonDocument.parse(description.getString("updatedFields").getValue()).getDouble("total").getValue()).isEqualTo(9.5);

    BsonDocument source = value.getDocument("source");
    assertThat(source.keySet()).containsAll(List.of(
        "version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "rs", "collection", "ord", "lsid", "txnNumber"));
    assertThat(source.getString("connector").getValue()).isEqualTo("mongodb");
    assertThat(source.getString("name").getValue()).isEqualTo("orders-out");
    assertThat(source.getString("db").getValue()).isEqualTo("shop");
    assertThat(source.getString("collection").getValue()).isEqualTo("orders");
    assertThat(source.getString("rs").getValue()).isEqualTo("rs0");
    assertThat(source.getString("snapshot").getValue()).isEqualTo("false");
    assertThat(source.getNumber("ts_ms").longValue()).as("the event's cluster time, in ms").isEqualTo(1_700_000_123_000L);
    assertThat(source.getNumber("ord").intValue()).as("the ordinal within the second").isEqualTo(7);
    // Tidemark's additions: where the stream resumes after this event
    assertThat(BsonDocument.parse(source.getString("resume_token").getValue())).isEqualTo(TOKEN);
    assertThat(source.getDocument("cluster_time")).isEqualTo(BsonDocument.parse("{\"t\": 1700000123, \"i\": 7}"));

    assertThat(BsonDocument.parse(EventFormat.DEBEZIUM.format(event("insert", ORDER, null, null), DEBEZIUM)).getString("op").getValue())
        .isEqualTo("c");
    BsonDocument delete = BsonDocument.parse(EventFormat.DEBEZIUM.format(event("delete", null, null, null), DEBEZIUM));
    assertThat(delete.getString("op").getValue()).isEqualTo("d");
    assertThat(delete.isNull("after")).isTrue();
    ChangeEnvelope copied = ChangeEnvelope.snapshot(3, new MongoNamespace("shop", "orders"), TIME, ORDER);
    BsonDocument read = BsonDocument.parse(EventFormat.DEBEZIUM.format(copied, DEBEZIUM));
    assertThat(read.getString("op").getValue()).isEqualTo("r");
    assertThat(read.getDocument("source").getString("snapshot").getValue()).isEqualTo("true");
    ChangeEnvelope drop = ChangeEnvelope.of(13, new ChangeStreamDocument<>(
        "drop", TOKEN, new BsonDocument("db", new BsonString("shop")).append("coll", new BsonString("orders")), null, null,
        null, null, null, TIME, null, null, null, null, null, null));
    assertThat(EventFormat.DEBEZIUM.format(drop, DEBEZIUM)).as("no envelope for a drop").isNull();
    assertThat(EventFormat.DOCUMENT.format(drop, DEBEZIUM)).isNull();
  }

  @Test
  void theSinkTypesAreLookedUpByNameAndAnUnknownOneNamesTheKnownTypes() {
    Sinks sinks = Sinks.load(getClass().getClassLoader());
    assertThat(sinks.types()).contains("file", "jdbc", "kafka", "stdout");
    assertThat(sinks.forType("file").type()).isEqualTo("file");
    assertThatThrownBy(() -> sinks.forType("elastic"))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("unknown sink type \"elastic\"")
        .hasMessageContaining("file, http, jdbc, kafka, mongodb, stdout");
  }
}
