package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.TruncatedArray;
import com.mongodb.client.model.changestream.UpdateDescription;
import com.mongodb.MongoNamespace;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/** The records of each kind of event in each format: topic, key, value, tombstones, headers. */
class KafkaRecordsTest {
  private static final BsonTimestamp TIME = new BsonTimestamp(1_700_000_123, 7);
  private static final BsonDocument TOKEN = new BsonDocument("_data", new BsonString("8265A1B2C3000000072B022C0100296E5A1004"));
  private final KafkaSinkSettings defaults = KafkaSinkSettings.create(ConfigFactory.load());

  private static ChangeEnvelope event(String type, Document after, Document before, UpdateDescription update) {
    return ChangeEnvelope.of(12, new ChangeStreamDocument<>(
        type, TOKEN, new BsonDocument("db", new BsonString("shop")).append("coll", new BsonString("orders")), "collection", null,
        after, before, new BsonDocument("_id", new BsonInt32(42)), TIME, update, new BsonInt64(3),
        new BsonDocument("id", new BsonString("session")), null, null, null));
  }

  private static String text(byte[] bytes) {
    return bytes == null ? null : new String(bytes, StandardCharsets.UTF_8);
  }

  private static String header(ProducerRecord<byte[], byte[]> record, String name) {
    Header header = record.headers().lastHeader(name);
    return header == null ? null : text(header.value());
  }

  @Test
  void aChangeEventIsTheEventAsJsonKeyedByItsDocumentKeyWithItsPositionInHeaders() {
    KafkaRecords records = KafkaRecords.create("orders-out", defaults);
    List<ProducerRecord<byte[], byte[]>> out = records.of(event("insert", new Document("_id", 42).append("total", 9.5), null, null), 4);

    assertThat(out).hasSize(1);
    ProducerRecord<byte[], byte[]> record = out.get(0);
    assertThat(record.topic()).isEqualTo("tidemark.shop.orders");
    assertThat(text(record.key())).isEqualTo("{\"_id\": 42}");
    BsonDocument value = BsonDocument.parse(text(record.value()));
    assertThat(value.getString("operationType").getValue()).isEqualTo("insert");
    assertThat(value.getDocument("fullDocument").getDouble("total").getValue()).isEqualTo(9.5);
    assertThat(value.getDocument("_id")).isEqualTo(TOKEN);
    assertThat(header(record, KafkaRecords.STREAM_HEADER)).isEqualTo("orders-out");
    assertThat(BsonDocument.parse(header(record, KafkaRecords.RESUME_TOKEN_HEADER))).isEqualTo(TOKEN);
    assertThat(header(record, KafkaRecords.CLUSTER_TIME_HEADER)).isEqualTo("{\"$timestamp\": {\"t\": 1700000123, \"i\": 7}}");
    assertThat(header(record, KafkaRecords.EPOCH_HEADER)).isEqualTo("4");
  }

  @Test
  void aDeleteIsFollowedByATombstoneUnlessTurnedOff() {
    ChangeEnvelope delete = event("delete", null, null, null);
    List<ProducerRecord<byte[], byte[]>> withTombstone = KafkaRecords.create("s", defaults).of(delete, 0);
    assertThat(withTombstone).hasSize(2);
    assertThat(BsonDocument.parse(text(withTombstone.get(0).value())).getString("operationType").getValue()).isEqualTo("delete");
    assertThat(withTombstone.get(1).value()).isNull();
    assertThat(withTombstone.get(1).key()).isEqualTo(withTombstone.get(0).key());
    assertThat(header(withTombstone.get(1), KafkaRecords.EPOCH_HEADER)).isNull();

    assertThat(KafkaRecords.create("s", defaults.withTombstones(false)).of(delete, 0)).hasSize(1);
  }

  @Test
  void theDocumentFormatWritesTheDocumentAndADeleteAsATombstone() {
    KafkaRecords records = KafkaRecords.create("s", defaults.withFormat(OutputFormat.DOCUMENT));
    List<ProducerRecord<byte[], byte[]>> replaced = records.of(event("replace", new Document("_id", 42).append("v", 2), null, null), 0);
    assertThat(text(replaced.get(0).value())).isEqualTo("{\"_id\": 42, \"v\": 2}");

    List<ProducerRecord<byte[], byte[]>> deleted = records.of(event("delete", null, null, null), 0);
    assertThat(deleted).hasSize(1);
    assertThat(deleted.get(0).value()).isNull();
    assertThat(KafkaRecords.create("s", defaults.withFormat(OutputFormat.DOCUMENT).withTombstones(false))
        .of(event("delete", null, null, null), 0)).isEmpty();
    // An update read without fullDocument: UPDATE_LOOKUP has nothing to write.
    assertThat(records.of(event("update", null, null, new UpdateDescription(List.of(), new BsonDocument("v", new BsonInt32(3)))), 0))
        .isEmpty();
  }

  @Test
  void theDebeziumEnvelopeHasDebeziumsFieldsAndTidemarksPosition() {
    KafkaRecords records = KafkaRecords.create("orders-out", defaults.withFormat(OutputFormat.DEBEZIUM));
    UpdateDescription update = new UpdateDescription(List.of("note"), new BsonDocument("v", new BsonInt32(3)),
        List.of(new TruncatedArray("items", 2)));
    ChangeEnvelope updated = event("update", new Document("_id", 42).append("v", 3), new Document("_id", 42).append("v", 2), update);
    BsonDocument envelope = BsonDocument.parse(text(records.of(updated, 0).get(0).value()));

    assertThat(envelope.getString("op").getValue()).isEqualTo("u");
    assertThat(BsonDocument.parse(envelope.getString("after").getValue())).isEqualTo(BsonDocument.parse("{_id: 42, v: 3}"));
    assertThat(BsonDocument.parse(envelope.getString("before").getValue())).isEqualTo(BsonDocument.parse("{_id: 42, v: 2}"));
    BsonDocument description = envelope.getDocument("updateDescription");
    assertThat(description.getArray("removedFields").get(0).asString().getValue()).isEqualTo("note");
    assertThat(BsonDocument.parse(description.getString("updatedFields").getValue())).isEqualTo(BsonDocument.parse("{v: 3}"));
    assertThat(description.getArray("truncatedArrays").get(0).asDocument().getInt32("size").getValue()).isEqualTo(2);
    BsonDocument source = envelope.getDocument("source");
    assertThat(source.getString("connector").getValue()).isEqualTo("mongodb");
    assertThat(source.getString("name").getValue()).isEqualTo("orders-out");
    assertThat(source.getString("db").getValue()).isEqualTo("shop");
    assertThat(source.getString("collection").getValue()).isEqualTo("orders");
    assertThat(source.getNumber("ts_ms").longValue()).isEqualTo(1_700_000_123_000L);
    assertThat(source.getNumber("ord").intValue()).isEqualTo(7);
    assertThat(source.getString("snapshot").getValue()).isEqualTo("false");
    assertThat(source.getNumber("txnNumber").longValue()).isEqualTo(3);
    assertThat(BsonDocument.parse(source.getString("resume_token").getValue())).isEqualTo(TOKEN);
    assertThat(source.getDocument("cluster_time").getNumber("t").longValue()).isEqualTo(1_700_000_123L);
    assertThat(envelope.getNumber("ts_ms").longValue()).isPositive();

    assertThat(DebeziumEnvelope.operation(event("insert", new Document("_id", 42), null, null))).isEqualTo("c");
    assertThat(DebeziumEnvelope.operation(event("replace", new Document("_id", 42), null, null))).isEqualTo("u");
    assertThat(DebeziumEnvelope.operation(event("delete", null, null, null))).isEqualTo("d");
    ChangeEnvelope copied = ChangeEnvelope.snapshot(1, new MongoNamespace("shop", "orders"), TIME, new Document("_id", 42));
    assertThat(DebeziumEnvelope.operation(copied)).isEqualTo("r");
    BsonDocument read = BsonDocument.parse(text(records.of(copied, 0).get(0).value()));
    assertThat(read.getDocument("source").getString("snapshot").getValue()).isEqualTo("true");
    assertThat(read.getDocument("source").get("resume_token").isNull()).isTrue();

    List<ProducerRecord<byte[], byte[]>> deleted = records.of(event("delete", null, null, null), 0);
    assertThat(deleted).hasSize(2);
    BsonDocument delete = BsonDocument.parse(text(deleted.get(0).value()));
    assertThat(delete.getString("op").getValue()).isEqualTo("d");
    assertThat(delete.get("after").isNull()).isTrue();
    assertThat(deleted.get(1).value()).isNull();
  }

  @Test
  void eventsThatAreNotAboutOneDocumentHaveNoRecords() {
    ChangeEnvelope drop = ChangeEnvelope.of(3, new ChangeStreamDocument<>(
        "drop", TOKEN, new BsonDocument("db", new BsonString("shop")).append("coll", new BsonString("orders")), "collection",
        null, null, null, null, TIME, null, null, null, null, null, null));
    for (OutputFormat format : OutputFormat.values()) {
      assertThat(KafkaRecords.create("s", defaults.withFormat(format)).of(drop, 0)).as(format.label()).isEmpty();
    }
  }

  @Test
  void topicsComeFromATemplateAPrefixOrAreFixed() {
    ChangeEnvelope insert = event("insert", new Document("_id", 42), null, null);
    assertThat(KafkaRecords.create("s", defaults.withTopicPrefix("cdc.")).topicOf(insert)).isEqualTo("cdc.shop.orders");
    assertThat(KafkaRecords.create("s", defaults.withTopic("orders-all")).topicOf(insert)).isEqualTo("orders-all");
    assertThat(KafkaRecords.create("my-stream", defaults.withTopic("{stream}-{collection}")).topicOf(insert))
        .isEqualTo("my-stream-orders");
    ChangeEnvelope odd = ChangeEnvelope.of(1, new ChangeStreamDocument<>(
        "insert", TOKEN, new BsonDocument("db", new BsonString("shop")).append("coll", new BsonString("or ders$x")), "collection", null,
        new Document("_id", 1), null, new BsonDocument("_id", new BsonInt32(1)), TIME, null, null, null, null, null, null));
    assertThat(KafkaRecords.create("s", defaults).topicOf(odd)).isEqualTo("tidemark.shop.or_ders_x");

    assertThatThrownBy(() -> defaults.withTopic("cdc.{database}")).isInstanceOf(TidemarkException.class)
        .hasMessageContaining("unknown placeholder {database}");
    assertThatThrownBy(() -> defaults.withTopic("cdc/orders")).isInstanceOf(TidemarkException.class)
        .hasMessageContaining("expected a Kafka topic name");
  }

  private static ChangeEnvelope insertInto(String db, String coll) {
    return ChangeEnvelope.of(1, new ChangeStreamDocument<>(
        "insert", TOKEN, new BsonDocument("db", new BsonString(db)).append("coll", new BsonString(coll)), "collection", null,
        new Document("_id", 1), null, new BsonDocument("_id", new BsonInt32(1)), TIME, null, null, null, null, null, null));
  }

  @Test
  void aRouteTransformGivesTheTopicItsRouteAndLeavesTheRecordsOfTheEventAsTheyWere() {
    NamespaceRoutes routes = NamespaceRoutes.of("tidemark.streams.s.transforms[0]", List.of(
        new NamespaceRoutes.Route(Pattern.compile("shop\\.orders_(\\d+)"), "orders"),
        new NamespaceRoutes.Route(Pattern.compile("shop\\.(.*)"), "shop-$1")), null);
    KafkaRecords routed = KafkaRecords.create("s", defaults.withTopic("cdc.{route}"), routes);
    ChangeEnvelope first = insertInto("shop", "orders_1");
    ChangeEnvelope second = insertInto("shop", "orders_2");
    assertThat(routed.topicOf(first)).isEqualTo("cdc.orders");
    assertThat(routed.topicOf(second)).isEqualTo("cdc.orders");
    assertThat(routed.topicOf(insertInto("shop", "customers"))).isEqualTo("cdc.shop-customers");
    assertThat(routed.topicOf(insertInto("crm", "leads"))).isEqualTo("cdc.crm.leads"); // no route, no default: the namespace

    ProducerRecord<byte[], byte[]> record = routed.of(second, 0).get(0);
    ProducerRecord<byte[], byte[]> unrouted = KafkaRecords.create("s", defaults).of(second, 0).get(0);
    assertThat(record.topic()).isEqualTo("cdc.orders");
    assertThat(record.key()).isEqualTo(unrouted.key());
    assertThat(record.value()).isEqualTo(unrouted.value());
    assertThat(BsonDocument.parse(text(record.value())).getDocument("ns").getString("coll").getValue()).isEqualTo("orders_2");

    assertThat(KafkaRecords.create("s", defaults.withTopic("{stream}.{route}.{collection}"), NamespaceRoutes.of("k",
        List.of(new NamespaceRoutes.Route(Pattern.compile("nothing"), "x")), "other")).topicOf(first)).isEqualTo("s.other.orders_1");
    assertThatThrownBy(() -> KafkaRecords.create("s", defaults.withTopic("cdc.{route}"))).isInstanceOf(TidemarkException.class)
        .hasMessageContaining("uses {route}, which a route transform gives");
  }

  @Test
  void aWrongSettingNamesItsKey() {
    assertThatThrownBy(() -> KafkaSinkSettings.create(ConfigFactory.parseString("tidemark.sink.kafka.guarantee = twice")
        .withFallback(ConfigFactory.load())))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("tidemark.sink.kafka.guarantee").hasMessageContaining("at-least-once or exactly-once");
    assertThatThrownBy(() -> KafkaSinkSettings.create(ConfigFactory.parseString("tidemark.sink.kafka.format = avro")
        .withFallback(ConfigFactory.load())))
        .hasMessageContaining("tidemark.sink.kafka.format").hasMessageContaining("change-event, document or debezium");
    KafkaSinkSettings perStream = KafkaSinkSettings.create(ConfigFactory.parseString("guarantee = at-least-once, format = debezium")
        .atPath("tidemark.sink.kafka").withFallback(ConfigFactory.load()));
    assertThat(perStream.guarantee).isEqualTo(DeliveryGuarantee.AT_LEAST_ONCE);
    assertThat(perStream.format).isEqualTo(OutputFormat.DEBEZIUM);
    assertThat(perStream.topic).isEqualTo("tidemark.{db}.{collection}");
  }
}
