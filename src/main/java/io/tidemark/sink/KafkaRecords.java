package io.tidemark.sink;

import com.mongodb.MongoClientSettings;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.codecs.BsonDocumentCodec;
import org.bson.codecs.Codec;
import org.bson.codecs.EncoderContext;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriter;
import org.bson.json.JsonWriterSettings;

/**
 * The Kafka records of a change event: the topic from the stream's topic template (its namespace,
 * stream and route filled in), the key (the
 * documentKey as relaxed extended JSON, so one document's records share a partition and compact
 * together), the value in the configured {@link OutputFormat}, a tombstone after a delete when
 * configured, and headers naming the stream, the resume token and the cluster time. Only events
 * about one document (inserts, updates, replacements, deletes, copied documents) have records.
 */
public final class KafkaRecords {
  /** The stream's name. */
  public static final String STREAM_HEADER = "tidemark.stream";
  /** The event's resume token as extended JSON (none for a copied document). */
  public static final String RESUME_TOKEN_HEADER = "tidemark.resume-token";
  /** The event's cluster time as extended JSON ({@code {"$timestamp": {"t": ..., "i": ...}}}). */
  public static final String CLUSTER_TIME_HEADER = "tidemark.cluster-time";
  /** Exactly-once only: the fencing epoch of the consumer whose transaction wrote the record. */
  public static final String EPOCH_HEADER = "tidemark.epoch";

  private static final JsonWriterSettings RELAXED = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();
  /** The event encoded straight into JSON: through a BsonDocument and its own codec it costs twice as much. */
  private static final Codec<ChangeStreamDocument<Document>> EVENT_CODEC =
      ChangeStreamDocument.createCodec(Document.class, MongoClientSettings.getDefaultCodecRegistry());
  private static final Codec<BsonDocument> DOCUMENT_CODEC = new BsonDocumentCodec();
  private static final EncoderContext ENCODE = EncoderContext.builder().build();
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^}]*)\\}");
  private static final Pattern INVALID_IN_TOPIC = Pattern.compile("[^A-Za-z0-9._-]");

  private final String stream;
  private final String topic;
  private final OutputFormat format;
  private final boolean tombstones;
  private final boolean headers;
  private final DebeziumEnvelope debezium;
  private final NamespaceRoutes routes;
  private final boolean routed;

  private KafkaRecords(String stream, String topic, OutputFormat format, boolean tombstones, boolean headers, DebeziumEnvelope debezium,
      NamespaceRoutes routes) {
    this.stream = stream;
    this.topic = topic;
    this.format = format;
    this.tombstones = tombstones;
    this.headers = headers;
    this.debezium = debezium;
    this.routes = routes;
    this.routed = usesRoute(topic);
  }

  public static KafkaRecords create(String stream, KafkaSinkSettings settings) {
    return create(stream, settings, NamespaceRoutes.none());
  }

  /**
   * The records of a stream whose route transform gives each event's {@code {route}}; a topic
   * template with {@code {route}} needs routes.
   */
  public static KafkaRecords create(String stream, KafkaSinkSettings settings, NamespaceRoutes routes) {
    if (usesRoute(settings.topic) && routes.isEmpty()) {
      throw new TidemarkException("stream '" + stream + "': the topic template \"" + settings.topic + "\" uses {route}, which a route"
          + " transform gives: expected { type = route, routes = [...] } in tidemark.streams." + stream + ".transforms");
    }
    return new KafkaRecords(stream, settings.topic, settings.format, settings.tombstones, settings.headers,
        DebeziumEnvelope.create(settings.debeziumName.isEmpty() ? stream : settings.debeziumName, settings.debeziumReplicaSet), routes);
  }

  /** Whether a topic template takes the route of each event. */
  static boolean usesRoute(String template) {
    return template.contains("{route}");
  }

  /**
   * Checks a topic template: text with the placeholders {@code {db}}, {@code {collection}},
   * {@code {stream}} and {@code {route}} (the stream's route transform's); a template without any
   * names one fixed topic. Returns the template.
   */
  static String checkTemplate(String key, String template) {
    Matcher placeholder = PLACEHOLDER.matcher(template);
    while (placeholder.find()) {
      if (!List.of("db", "collection", "stream", "route").contains(placeholder.group(1))) {
        throw new TidemarkException("invalid config key " + key + " = \"" + template + "\": unknown placeholder {" + placeholder.group(1)
            + "}: expected {db}, {collection}, {stream} or {route}, as in \"cdc.{db}.{collection}\"");
      }
    }
    String literal = placeholder.replaceAll("");
    if (template.isBlank() || INVALID_IN_TOPIC.matcher(literal).find()) {
      throw new TidemarkException("invalid config key " + key + " = \"" + template + "\": expected a Kafka topic name (letters, digits,"
          + " '.', '_' and '-') with the placeholders {db}, {collection}, {stream}, {route}, as in \"cdc.{db}.{collection}\"");
    }
    return template;
  }

  /**
   * The records of one event, in the order they must be written; none for events that are not
   * about one document, and (format {@code document}) for updates without a full document.
   *
   * @param epoch the writer's fencing epoch, sent as a header when positive (exactly-once)
   */
  public List<ProducerRecord<byte[], byte[]>> of(ChangeEnvelope event, long epoch) {
    if (event.event() == null || event.documentKey() == null) return List.of();
    String to = topicOf(event);
    byte[] key = json(DOCUMENT_CODEC, event.documentKey());
    boolean delete = "delete".equals(event.operationType());
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>(2);
    switch (format) {
      case CHANGE_EVENT -> records.add(record(to, key, json(EVENT_CODEC, event.event()), event, epoch));
      case DEBEZIUM -> {
        BsonDocument envelope = debezium.of(event);
        if (envelope == null) return List.of();
        records.add(record(to, key, json(DOCUMENT_CODEC, envelope), event, epoch));
      }
      case DOCUMENT -> {
        if (!delete) {
          Document document = event.fullDocument();
          if (document == null) return List.of();
          records.add(record(to, key, document.toJson(RELAXED).getBytes(StandardCharsets.UTF_8), event, epoch));
        }
      }
    }
    if (delete && tombstones) records.add(record(to, key, null, event, epoch));
    return records;
  }

  /** The topic of an event: the template with the event's namespace and route; characters a topic name cannot hold become '_'. */
  public String topicOf(ChangeEnvelope event) {
    BsonDocument namespace = event.event() == null ? null : event.event().getNamespaceDocument();
    String db = namespace != null && namespace.isString("db") ? namespace.getString("db").getValue() : "";
    String collection = namespace != null && namespace.isString("coll") ? namespace.getString("coll").getValue() : "";
    String name = topic.replace("{db}", db).replace("{collection}", collection).replace("{stream}", stream);
    if (routed) name = name.replace("{route}", routes.routeOf(db + "." + collection));
    name = INVALID_IN_TOPIC.matcher(name).replaceAll("_");
    if (name.isEmpty() || name.length() > 249 || name.equals(".") || name.equals("..")) {
      throw new TidemarkException("stream '" + stream + "': the topic template \"" + topic + "\" gives no valid topic name for "
          + event + " (\"" + name + "\")");
    }
    return name;
  }

  private ProducerRecord<byte[], byte[]> record(String to, byte[] key, byte[] value, ChangeEnvelope event, long epoch) {
    RecordHeaders recordHeaders = new RecordHeaders();
    if (headers) {
      recordHeaders.add(STREAM_HEADER, stream.getBytes(StandardCharsets.UTF_8));
      if (event.resumeToken() != null) recordHeaders.add(RESUME_TOKEN_HEADER, json(DOCUMENT_CODEC, event.resumeToken()));
      BsonTimestamp time = event.clusterTime();
      if (time != null) {
        recordHeaders.add(CLUSTER_TIME_HEADER, utf8("{\"$timestamp\": {\"t\": " + (time.getTime() & 0xffffffffL) + ", \"i\": "
            + (time.getInc() & 0xffffffffL) + "}}"));
      }
      if (epoch > 0) recordHeaders.add(EPOCH_HEADER, utf8(Long.toString(epoch)));
    }
    return new ProducerRecord<>(to, null, key, value, recordHeaders);
  }

  private static <T> byte[] json(Codec<T> codec, T value) {
    StringWriter out = new StringWriter(512);
    codec.encode(new JsonWriter(out, RELAXED), value, ENCODE);
    return utf8(out.toString());
  }

  private static byte[] utf8(String text) {
    return text.getBytes(StandardCharsets.UTF_8);
  }
}
