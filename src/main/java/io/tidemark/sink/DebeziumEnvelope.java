package io.tidemark.sink;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.client.model.changestream.TruncatedArray;
import com.mongodb.client.model.changestream.UpdateDescription;
import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * A change event as Debezium's MongoDB connector shapes the value of its records (its documented
 * change-event value, without the Kafka Connect schema — what its JSON converter writes with
 * {@code schemas.enable=false}), so consumers written for Debezium read Tidemark's records:
 * <pre>
 * { "before": "&lt;document as JSON&gt;" | null,   (the pre-image, when the stream asks for one)
 *   "after": "&lt;document as JSON&gt;" | null,    (inserts, replacements, updates with a full document, snapshot reads)
 *   "updateDescription": { "removedFields": [...] | null, "updatedFields": "&lt;JSON&gt;" | null,
 *                          "truncatedArrays": [{"field": ..., "size": ...}] | null } | null,
 *   "source": { "version", "connector": "mongodb", "name", "ts_ms", "ts_us", "ts_ns", "snapshot": "true" | "false",
 *               "db", "sequence": null, "rs", "collection", "ord", "h": null, "lsid", "txnNumber",
 *               "resume_token": "&lt;token as JSON&gt;", "cluster_time": {"t": ..., "i": ...} },
 *   "op": "c" | "u" | "d" | "r",  "ts_ms": &lt;when Tidemark wrote it&gt;, "transaction": null }
 * </pre>
 * As in Debezium, a replacement is an update ({@code u}), a copied document a read ({@code r}),
 * documents inside the value are strings of extended JSON (relaxed here), {@code source.ts_ms} and
 * {@code ord} are the event's cluster time (seconds, in milliseconds, and the ordinal within the
 * second), and events that are not about one document (drops, renames, invalidates) have no
 * envelope. {@code resume_token} and {@code cluster_time} are Tidemark's additions: where the
 * stream can resume after this event. Kept apart from the sink so that the service's output reuses
 * it.
 */
public final class DebeziumEnvelope {
  private static final JsonWriterSettings RELAXED = JsonWriterSettings.builder().outputMode(JsonMode.RELAXED).build();
  private static final String VERSION = versionOf();

  private final String name;
  private final String replicaSet;

  private DebeziumEnvelope(String name, String replicaSet) {
    this.name = name;
    this.replicaSet = replicaSet;
  }

  /**
   * @param name the logical name in {@code source.name} (Debezium's {@code topic.prefix})
   * @param replicaSet {@code source.rs}; null or empty when not known
   */
  public static DebeziumEnvelope create(String name, String replicaSet) {
    return new DebeziumEnvelope(name, replicaSet == null || replicaSet.isEmpty() ? null : replicaSet);
  }

  /** Debezium's operation code of an event: {@code c}, {@code u}, {@code d}, {@code r}; null for events Debezium does not emit. */
  public static String operation(ChangeEnvelope event) {
    if (event.isSnapshot()) return "r";
    return switch (event.operationType()) {
      case "insert" -> "c";
      case "update", "replace" -> "u";
      case "delete" -> "d";
      default -> null;
    };
  }

  /** The envelope of an event; null when Debezium would write none for it. */
  public BsonDocument of(ChangeEnvelope event) {
    String op = operation(event);
    ChangeStreamDocument<Document> change = event.event();
    if (op == null || change == null || event.documentKey() == null) return null;
    BsonDocument envelope = new BsonDocument();
    envelope.append("before", json(change.getFullDocumentBeforeChange()));
    envelope.append("after", "d".equals(op) ? BsonNull.VALUE : json(change.getFullDocument()));
    envelope.append("updateDescription", "update".equals(event.operationType()) ? updateDescription(change.getUpdateDescription()) : BsonNull.VALUE);
    envelope.append("source", source(event, change));
    envelope.append("op", new BsonString(op));
    envelope.append("ts_ms", new BsonInt64(System.currentTimeMillis()));
    envelope.append("transaction", BsonNull.VALUE);
    return envelope;
  }

  private BsonDocument source(ChangeEnvelope event, ChangeStreamDocument<Document> change) {
    BsonTimestamp time = event.clusterTime();
    long seconds = time == null ? 0 : time.getTime();
    BsonDocument namespace = change.getNamespaceDocument();
    BsonDocument source = new BsonDocument()
        .append("version", new BsonString(VERSION))
        .append("connector", new BsonString("mongodb"))
        .append("name", new BsonString(name))
        .append("ts_ms", new BsonInt64(seconds * 1_000L))
        .append("ts_us", new BsonInt64(seconds * 1_000_000L))
        .append("ts_ns", new BsonInt64(seconds * 1_000_000_000L))
        .append("snapshot", new BsonString(event.isSnapshot() ? "true" : "false"))
        .append("db", string(namespace, "db"))
        .append("sequence", BsonNull.VALUE)
        .append("rs", replicaSet == null ? BsonNull.VALUE : new BsonString(replicaSet))
        .append("collection", string(namespace, "coll"))
        .append("ord", new BsonInt32(time == null ? 0 : time.getInc()))
        .append("h", BsonNull.VALUE)
        .append("lsid", change.getLsid() == null ? BsonNull.VALUE : new BsonString(change.getLsid().toJson(RELAXED)))
        .append("txnNumber", change.getTxnNumber() == null ? BsonNull.VALUE : change.getTxnNumber())
        .append("resume_token", event.resumeToken() == null ? BsonNull.VALUE : new BsonString(event.resumeToken().toJson(RELAXED)));
    source.append("cluster_time", time == null ? BsonNull.VALUE
        : new BsonDocument("t", new BsonInt64(time.getTime() & 0xffffffffL)).append("i", new BsonInt64(time.getInc() & 0xffffffffL)));
    return source;
  }

  private static BsonValue updateDescription(UpdateDescription update) {
    if (update == null) return BsonNull.VALUE;
    BsonValue removed = BsonNull.VALUE;
    if (update.getRemovedFields() != null && !update.getRemovedFields().isEmpty()) {
      BsonArray fields = new BsonArray();
      update.getRemovedFields().forEach(field -> fields.add(new BsonString(field)));
      removed = fields;
    }
    BsonValue truncated = BsonNull.VALUE;
    if (update.getTruncatedArrays() != null && !update.getTruncatedArrays().isEmpty()) {
      BsonArray arrays = new BsonArray();
      for (TruncatedArray array : update.getTruncatedArrays()) {
        arrays.add(new BsonDocument("field", new BsonString(array.getField())).append("size", new BsonInt32(array.getNewSize())));
      }
      truncated = arrays;
    }
    BsonDocument updated = update.getUpdatedFields();
    return new BsonDocument("removedFields", removed)
        .append("updatedFields", updated == null || updated.isEmpty() ? BsonNull.VALUE : new BsonString(updated.toJson(RELAXED)))
        .append("truncatedArrays", truncated);
  }

  private static BsonValue json(Document document) {
    return document == null ? BsonNull.VALUE : new BsonString(document.toJson(RELAXED));
  }

  private static BsonValue string(BsonDocument document, String field) {
    return document != null && document.isString(field) ? document.getString(field) : BsonNull.VALUE;
  }

  private static String versionOf() {
    String version = DebeziumEnvelope.class.getPackage().getImplementationVersion();
    return "tidemark-" + (version == null ? "dev" : version);
  }
}
