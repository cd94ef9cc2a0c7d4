package io.tidemark.sink;

import com.mongodb.MongoClientSettings;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.source.ChangeEnvelope;
import java.io.StringWriter;
import java.util.Locale;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.codecs.Codec;
import org.bson.codecs.EncoderContext;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriter;
import org.bson.json.JsonWriterSettings;

/**
 * How the service writes a change event as one line of JSON ({@code tidemark.streams.<name>.format}):
 * <ul>
 *   <li>{@link #RELAXED_JSON}: the change event as the server sent it, as Relaxed Extended JSON
 *       (numbers and dates as plain JSON where they fit);
 *   <li>{@link #CANONICAL_JSON}: the same as Canonical Extended JSON (every type kept:
 *       {@code {"$numberLong": "1"}});
 *   <li>{@link #DOCUMENT}: the full document only, relaxed; a delete is a tombstone, its
 *       documentKey with {@code "__deleted": true} (what Debezium's new-document-state transform
 *       writes with {@code delete.handling.mode=rewrite}); an update without a full document and
 *       an event about no document write nothing;
 *   <li>{@link #DEBEZIUM}: Debezium's MongoDB change-event value ({@link DebeziumEnvelope}); events
 *       Debezium does not emit (drops, renames, invalidates) write nothing.
 * </ul>
 * A copied document (a snapshot) is an event of type {@code snapshot} with its {@code fullDocument}
 * in the event formats, the document in {@code document}, and a read ({@code op = r}) in Debezium's.
 */
public enum EventFormat {
  RELAXED_JSON,
  CANONICAL_JSON,
  DOCUMENT,
  DEBEZIUM;

  /** The field a tombstone of the {@link #DOCUMENT} format carries. */
  public static final String DELETED_FIELD = "__deleted";

  private static final JsonWriterSettings RELAXED = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();
  private static final JsonWriterSettings CANONICAL = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();
  private static final Codec<ChangeStreamDocument<Document>> EVENT_CODEC =
      ChangeStreamDocument.createCodec(Document.class, MongoClientSettings.getDefaultCodecRegistry());
  private static final EncoderContext ENCODE = EncoderContext.builder().build();

  /** The spellings in configuration, for error messages. */
  public static final String EXPECTED = "relaxed-json, canonical-json, document or debezium";

  /** The spelling in configuration: {@code relaxed-json}, {@code canonical-json}, {@code document}, {@code debezium}. */
  public String label() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** The format a configuration spells {@code label}; null when there is none. */
  public static EventFormat ofLabel(String label) {
    for (EventFormat format : values()) {
      if (format.label().equals(label)) return format;
    }
    return null;
  }

  /**
   * Writes an event in this format.
   *
   * @param debezium the envelope's {@code source.name} and {@code source.rs} (used by {@link #DEBEZIUM} only)
   * @return one line of JSON, or null when this format writes nothing for the event
   */
  public String format(ChangeEnvelope event, DebeziumEnvelope debezium) {
    return switch (this) {
      case RELAXED_JSON -> changeEvent(event, RELAXED);
      case CANONICAL_JSON -> changeEvent(event, CANONICAL);
      case DOCUMENT -> document(event);
      case DEBEZIUM -> {
        BsonDocument envelope = debezium.of(event);
        yield envelope == null ? null : envelope.toJson(RELAXED);
      }
    };
  }

  /** Whether the event is a deletion of its document (a tombstone in {@link #DOCUMENT}). */
  public static boolean isDelete(ChangeEnvelope event) {
    return "delete".equals(event.operationType());
  }

  private static String changeEvent(ChangeEnvelope event, JsonWriterSettings mode) {
    StringWriter out = new StringWriter(512);
    EVENT_CODEC.encode(new JsonWriter(out, mode), event.event(), ENCODE);
    return out.toString();
  }

  private static String document(ChangeEnvelope event) {
    if (isDelete(event)) {
      BsonDocument key = event.documentKey();
      return key == null ? null : key.clone().append(DELETED_FIELD, BsonBoolean.TRUE).toJson(RELAXED);
    }
    Document document = event.fullDocument();
    return document == null ? null : document.toJson(RELAXED);
  }
}
