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
public final class ChangeEnvelope {
  private static final Codec<ChangeStreamDocument<Document>> CODEC =
      ChangeStreamDocument.createCodec(Document.class, MongoClientSettings.getDefaultCodecRegistry());

  private final long seqNr;
  private final BsonDocument resumeToken;
  private final BsonTimestamp clusterTime;
  private final String operationType;
  private final BsonDocument documentKey;
  private final ChangeStreamDocument<Document> event;
  private final String note;
  /** Snapshot progress at this envelope: {@code {_id: ...}} (a copied document) or {@code {}}; null otherwise. */
  private final BsonDocument snapshot;

  /** The operation type of a copied document: insert-like, with the whole document. */
  public static final String SNAPSHOT = "snapshot";
  /** The operation type of the marker after the last copied document: the stream goes on from the snapshot's time. */
  public static final String SNAPSHOT_COMPLETE = "snapshot-complete";
  /** The operation type of a heartbeat: a quiet stream's position, no event. */
  public static final String HEARTBEAT = "heartbeat";
  /** The operation type of a gap: where a fault policy moved the stream on, and what it skipped. */
  public static final String GAP = "gap";

  private ChangeEnvelope(long seqNr, ChangeStreamDocument<Document> event) {
    this.seqNr = seqNr;
    this.event = event;
    this.resumeToken = event.getResumeToken();
    this.clusterTime = event.getClusterTime();
    this.operationType = event.getOperationTypeString();
    this.documentKey = event.getDocumentKey();
    this.note = null;
    this.snapshot = SNAPSHOT.equals(operationType) ? new BsonDocument("_id", documentKey.get("_id")) : null;
  }

  /** A marker: a position without an event. */
  private ChangeEnvelope(long seqNr, String type, BsonDocument token, BsonTimestamp clusterTime, String note) {
    this(seqNr, type, token, clusterTime, note, null);
  }

  private ChangeEnvelope(long seqNr, String type, BsonDocument token, BsonTimestamp clusterTime, String note, BsonDocument snapshot) {
    this.seqNr = seqNr;
    this.event = null;
    this.resumeToken = token;
    this.clusterTime = clusterTime;
    this.operationType = type;
    this.documentKey = null;
    this.note = note;
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
    Objects.requireNonNull(at, "at");
    Object id = document.get("_id");
    if (id == null) throw new MalformedEventException("a snapshot document of " + namespace + " has no _id");
    BsonDocument key = documentKey(document.toBsonDocument(), shardKey);
    BsonDocument ns = new BsonDocument("db", new org.bson.BsonString(namespace.getDatabaseName()))
        .append("coll", new org.bson.BsonString(namespace.getCollectionName()));
    return new ChangeEnvelope(seqNr, new ChangeStreamDocument<>(
        SNAPSHOT, null, ns, null, null, document, null, key, at, null, null, null, null, null, null));
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

  /**
   * The end of a snapshot taken at {@code at}: no event; once everything before it is done, a
   * checkpoint at {@code at} (kind start) says the copy is complete and the stream goes on from there.
   */
  public static ChangeEnvelope snapshotComplete(long seqNr, BsonTimestamp at, String note) {
    return new ChangeEnvelope(seqNr, SNAPSHOT_COMPLETE, null, Objects.requireNonNull(at, "at"), note);
  }

  /**
   * A quiet stream's position, from the server's postBatchResumeToken: no event, only a token that
   * a checkpoint may move to. It never reaches the user's stages.
   */
  public static ChangeEnvelope heartbeat(long seqNr, BsonDocument postBatchResumeToken) {
    Objects.requireNonNull(postBatchResumeToken, "postBatchResumeToken");
    return new ChangeEnvelope(seqNr, HEARTBEAT, postBatchResumeToken, ResumeTokens.clusterTime(postBatchResumeToken), null);
  }

  /**
   * Where a fault policy moved the stream on, in order with its events, so that the gap is saved
   * (as a checkpoint of kind gap, with the note) only when every event before it is done. It never
   * reaches the user's stages.
   */
  public static ChangeEnvelope gap(long seqNr, ResumePosition at, String note) {
    Objects.requireNonNull(note, "note");
    if (at instanceof ResumePosition.ResumeAfter resume) {
      return new ChangeEnvelope(seqNr, GAP, resume.token(), ResumeTokens.clusterTime(resume.token()), note);
    }
    if (at instanceof ResumePosition.StartAfter start) {
      return new ChangeEnvelope(seqNr, GAP, null, ResumeTokens.clusterTime(start.token()), note);
    }
    if (at instanceof ResumePosition.StartAtOperationTime time) return new ChangeEnvelope(seqNr, GAP, null, time.time(), note);
    if (at instanceof ResumePosition.Snapshot copy) {
      // A re-snapshot: the gap checkpoint already says "copy again", so a crash right after it still copies.
      BsonDocument progress = copy.after() == null ? new BsonDocument() : new BsonDocument("_id", copy.after());
      return new ChangeEnvelope(seqNr, GAP, null, copy.at(), note, progress);
    }
    throw new IllegalArgumentException("a gap needs a position, was " + at);
  }

  /** A position without an event (a heartbeat or a gap): done as soon as everything before it is. */
  public boolean isMarker() {
    return event == null;
  }

  public boolean isHeartbeat() {
    return event == null && HEARTBEAT.equals(operationType);
  }

  public boolean isGap() {
    return event == null && GAP.equals(operationType);
  }

  /** A document copied by a snapshot (not a change event). */
  public boolean isSnapshot() {
    return event != null && SNAPSHOT.equals(operationType);
  }

  /** The marker after a snapshot's last document. */
  public boolean isSnapshotComplete() {
    return event == null && SNAPSHOT_COMPLETE.equals(operationType);
  }

  /**
   * Snapshot progress a checkpoint here must keep: {@code {_id: ...}} for a copied document,
   * {@code {}} for the gap that starts a re-snapshot; null otherwise.
   */
  public BsonDocument snapshotProgress() {
    return snapshot;
  }

  /** What a gap skipped; null otherwise. */
  public String note() {
    return note;
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

  public long seqNr() {
    return seqNr;
  }

  public BsonDocument resumeToken() {
    return resumeToken;
  }

  /** The cluster time of the operation; null only on servers older than 4.0. */
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
    return event == null ? null : event.getFullDocument();
  }

  /** The driver's event; null for a marker (heartbeat, gap). */
  public ChangeStreamDocument<Document> event() {
    return event;
  }

  /** The event as the BSON document the server sent, for storing it or sending it to another node. */
  public BsonDocument eventDocument() {
    if (event == null) {
      BsonDocument marker = new BsonDocument("operationType", new org.bson.BsonString(operationType));
      if (resumeToken != null) marker.append("_id", resumeToken);
      if (clusterTime != null) marker.append("clusterTime", clusterTime);
      if (note != null) marker.append("note", new org.bson.BsonString(note));
      if (snapshot != null) marker.append("snapshot", snapshot);
      return marker;
    }
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
