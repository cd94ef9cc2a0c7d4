package io.tidemark.source;

import com.mongodb.MongoClientSettings;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import java.util.Objects;
import org.bson.BsonDocument;
import org.bson.BsonDocumentReader;
import org.bson.BsonDocumentWriter;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.bson.codecs.Codec;
import org.bson.codecs.DecoderContext;
import org.bson.codecs.EncoderContext;

/**
 * One change event as it travels through a pipeline: the driver's event plus what Tidemark needs
 * to track it. {@link #seqNr()} numbers the events of one pipeline run without gaps, starting at
 * 1; {@link #resumeToken()} is where a restart resumes after this event.
 *
 * <p>During a snapshot, an envelope carries a copied document instead ({@link #isSnapshot()}):
 * operation type {@value #SNAPSHOT}, the document as {@link #fullDocument()}, its {@code _id} as
 * {@link #documentKey()}, the snapshot's operation time as {@link #clusterTime()}, and no resume
 * token; a restart copies on after its {@code _id}.
 */
public final class ChangeEnvelope implements StreamElement {
  private static final Codec<ChangeStreamDocument<Document>> CODEC =
      ChangeStreamDocument.createCodec(Document.class, MongoClientSettings.getDefaultCodecRegistry());

  private final long seqNr;
  private final BsonDocument resumeToken;
  private final BsonTimestamp clusterTime;
  private final String operationType;
  private final BsonDocument documentKey;
  private final ChangeStreamDocument<Document> event;
  /** Snapshot progress at this envelope when it is not {@code {_id: <this document's>}} (see {@link #progressById}); null otherwise. */
  private final BsonDocument snapshot;
  /**
   * A copied document whose snapshot progress is its own {@code _id}, {@code {_id: ...}}: made only when a checkpoint
   * needs it, not once per copied document.
   */
  private final boolean progressById;
  /** A chunked copy's position at this envelope, whose progress document is built only when a checkpoint needs it; null otherwise. */
  private final ResumePosition.Snapshot position;

  /** The operation type of a copied document: insert-like, with the whole document. */
  public static final String SNAPSHOT = "snapshot";

  private ChangeEnvelope(long seqNr, ChangeStreamDocument<Document> event) {
    this(seqNr, event, null, null, SNAPSHOT.equals(event.getOperationTypeString()) && event.getResumeToken() == null);
  }

  private ChangeEnvelope(long seqNr, ChangeStreamDocument<Document> event, BsonDocument snapshot) {
    this(seqNr, event, snapshot, null, false);
  }

  private ChangeEnvelope(
      long seqNr, ChangeStreamDocument<Document> event, BsonDocument snapshot, ResumePosition.Snapshot position, boolean progressById) {
    this.position = position;
    this.progressById = progressById;
    this.seqNr = seqNr;
    this.event = event;
    this.resumeToken = event.getResumeToken();
    this.clusterTime = event.getClusterTime();
    this.operationType = event.getOperationTypeString();
    this.documentKey = event.getDocumentKey();
    this.snapshot = snapshot;
  }

  /**
   * A document copied by a snapshot taken at {@code at}: it goes through the user's stages like an
   * insert, and once it and everything before it are done, a checkpoint records the copy's progress.
   */
  public static ChangeEnvelope snapshot(long seqNr, com.mongodb.MongoNamespace namespace, BsonTimestamp at, Document document) {
    return snapshot(seqNr, namespace, at, document, null);
  }

  /**
   * A copied document of a sharded collection: its documentKey holds the shard key's fields, in the
   * shard key's order, then {@code _id}, as the collection's change events do (so that a sink keyed
   * by documentKey sees the copy and the events of one document under one key).
   *
   * @param shardKey the collection's shard key ({@code config.collections}' {@code key}); null when not sharded
   */
  public static ChangeEnvelope snapshot(
      long seqNr, com.mongodb.MongoNamespace namespace, BsonTimestamp at, Document document, BsonDocument shardKey) {
    return new ChangeEnvelope(seqNr, copied(namespace, at, document, shardKey));
  }

  /** The change event a copied document stands as: operation type {@value #SNAPSHOT}, at the snapshot's time. */
  private static ChangeStreamDocument<Document> copied(
      com.mongodb.MongoNamespace namespace, BsonTimestamp at, Document document, BsonDocument shardKey) {
    Objects.requireNonNull(at, "at");
    Object id = document.get("_id");
    if (id == null) throw new MalformedEventException("a snapshot document of " + namespace + " has no _id");
    // Only a sharded collection's key needs the document's fields as BSON; converting the whole document for every copy costs.
    BsonDocument key = shardKey == null
        ? new BsonDocument("_id", DocumentIds.of(id))
        : documentKey(document.toBsonDocument(), shardKey);
    BsonDocument ns = new BsonDocument("db", new org.bson.BsonString(namespace.getDatabaseName()))
        .append("coll", new org.bson.BsonString(namespace.getCollectionName()));
    return new ChangeStreamDocument<>(SNAPSHOT, null, ns, null, null, document, null, key, at, null, null, null, null, null, null);
  }

  /**
   * A copied document of one of the collections of a database or deployment target, copied one after
   * another: its snapshot progress also names the collection, {@code {ns: "<db>.<collection>", _id: ...}}.
   */
  public static ChangeEnvelope snapshotOfMany(
      long seqNr, com.mongodb.MongoNamespace namespace, BsonTimestamp at, Document document, BsonDocument shardKey) {
    ChangeStreamDocument<Document> event = copied(namespace, at, document, shardKey);
    BsonDocument progress = new BsonDocument("ns", new org.bson.BsonString(namespace.getFullName()))
        .append("_id", event.getDocumentKey().get("_id"));
    return new ChangeEnvelope(seqNr, event, progress);
  }

  /**
   * A copied document of a chunked copy: its snapshot progress is the whole copy's at this document,
   * {@code {ns?: ..., chunks: [...]}} (see {@link ResumePosition.Snapshot#progress()}).
   */
  public static ChangeEnvelope snapshotAt(
      long seqNr, com.mongodb.MongoNamespace namespace, ResumePosition.Snapshot position, Document document, BsonDocument shardKey) {
    return new ChangeEnvelope(seqNr, copied(namespace, position.at(), document, shardKey), null, position, false);
  }

  /**
   * A document an incremental snapshot copied while the stream ran, handed on at the stream's
   * position {@code token} (time {@code at}): operation type {@value #SNAPSHOT} like any copy, but it
   * carries that position's token and no snapshot progress, so a checkpoint here is the stream's
   * position (the request's own progress is kept with the request).
   */
  public static ChangeEnvelope incrementalSnapshot(
      long seqNr, com.mongodb.MongoNamespace namespace, BsonDocument token, BsonTimestamp at, Document document) {
    Objects.requireNonNull(token, "token");
    Object id = document.get("_id");
    if (id == null) throw new MalformedEventException("an incremental snapshot document of " + namespace + " has no _id");
    BsonDocument ns = new BsonDocument("db", new org.bson.BsonString(namespace.getDatabaseName()))
        .append("coll", new org.bson.BsonString(namespace.getCollectionName()));
    BsonDocument key = new BsonDocument("_id", DocumentIds.of(id));
    return new ChangeEnvelope(seqNr, new ChangeStreamDocument<>(
        SNAPSHOT, token, ns, null, null, document, null, key, at, null, null, null, null, null, null), null);
  }

  /** A copied document of an incremental snapshot (it has a position of the stream, and no snapshot progress of its own). */
  public boolean isIncrementalSnapshot() {
    return isSnapshot() && snapshot == null && position == null && !progressById;
  }

  /** The same envelope under another sequence number. */
  public ChangeEnvelope withSeqNr(long seqNr) {
    return seqNr == this.seqNr ? this : new ChangeEnvelope(seqNr, event, snapshot, position, progressById);
  }

  /** The documentKey of a document: the shard key's fields (dotted paths followed), then _id. */
  static BsonDocument documentKey(BsonDocument document, BsonDocument shardKey) {
    BsonDocument key = new BsonDocument();
    if (shardKey != null) {
      for (String field : shardKey.keySet()) {
        org.bson.BsonValue value = valueAt(document, field);
        if (value != null) key.append(field, value);
      }
    }
    if (!key.containsKey("_id")) key.append("_id", document.get("_id"));
    return key;
  }

  private static org.bson.BsonValue valueAt(BsonDocument document, String path) {
    org.bson.BsonValue value = document;
    for (String part : path.split("\\.")) {
      if (!(value instanceof BsonDocument nested) || !nested.containsKey(part)) return null;
      value = nested.get(part);
    }
    return value;
  }

  /** {@code "<db>.<collection>"} of the event; {@code "<db>"} for a database's own events; {@code ""} when it has none. */
  public String namespace() {
    BsonDocument ns = event.getNamespaceDocument();
    if (ns == null || !ns.isString("db")) return "";
    return ns.getString("db").getValue() + (ns.isString("coll") ? "." + ns.getString("coll").getValue() : "");
  }

  /** A document copied by a snapshot (not a change event). */
  public boolean isSnapshot() {
    return SNAPSHOT.equals(operationType);
  }

  /**
   * Snapshot progress a checkpoint here must keep: {@code {_id: ...}} for a copied document
   * ({@code {ns: ..., _id: ...}} when its target has many collections); null otherwise.
   */
  public BsonDocument snapshotProgress() {
    if (position != null) return position.progress();
    return progressById ? new BsonDocument("_id", documentKey.get("_id")) : snapshot;
  }

  /**
   * Wraps a driver event. An event without a resume token cannot be checkpointed (a user
   * {@code $project} removed {@code _id}): that is refused with a message that says so.
   */
  public static ChangeEnvelope of(long seqNr, ChangeStreamDocument<Document> event) {
    Objects.requireNonNull(event, "event");
    if (event.getResumeToken() == null) {
      throw new MalformedEventException(
          "change event #" + seqNr + " (" + event.getOperationTypeString() + ") has no resume token _id:"
              + " a $project in the pipeline must keep _id, or the stream cannot resume");
    }
    return new ChangeEnvelope(seqNr, event);
  }

  @Override
  public long seqNr() {
    return seqNr;
  }

  public BsonDocument resumeToken() {
    return resumeToken;
  }

  /** The cluster time of the operation; null only on servers older than 4.0. */
  @Override
  public BsonTimestamp clusterTime() {
    return clusterTime;
  }

  /** insert, update, replace, delete, drop, rename, dropDatabase, invalidate, ... */
  public String operationType() {
    return operationType;
  }

  /** The {@code _id} (and shard key) of the changed document; null for collection-level events. */
  public BsonDocument documentKey() {
    return documentKey;
  }

  /** The full document when the event carries one (inserts, replaces, update lookups). */
  public Document fullDocument() {
    return event.getFullDocument();
  }

  /** The driver's event. */
  public ChangeStreamDocument<Document> event() {
    return event;
  }

  /** The event as the BSON document the server sent, for storing it or sending it to another node. */
  public BsonDocument eventDocument() {
    BsonDocument document = new BsonDocument();
    CODEC.encode(new BsonDocumentWriter(document), event, EncoderContext.builder().build());
    return document;
  }

  /** Reads an event written by {@link #eventDocument()}. */
  public static ChangeEnvelope fromEventDocument(long seqNr, BsonDocument document) {
    ChangeStreamDocument<Document> event = CODEC.decode(new BsonDocumentReader(document), DecoderContext.builder().build());
    return SNAPSHOT.equals(event.getOperationTypeString()) ? new ChangeEnvelope(seqNr, event) : of(seqNr, event);
  }

  @Override
  public String toString() {
    return "ChangeEnvelope(#" + seqNr + " " + operationType + " " + documentKey + " at " + clusterTime + ")";
  }
}
