package io.tidemark.source;

import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;

/**
 * Where a change stream opens: the options {@code resumeAfter}, {@code startAfter},
 * {@code startAtOperationTime}, or now; or a snapshot to copy first, whose stream then opens at the
 * snapshot's operation time.
 */
public sealed interface ResumePosition {

  ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher);

  /** For the log: which option and its value. */
  String describe();

  /**
   * The cluster time this position stands at: a token's (read out of it), an operation time, a
   * snapshot's time; null when it cannot be told (a token of another form, "now").
   */
  default BsonTimestamp clusterTime() {
    if (this instanceof ResumeAfter resume) return ResumeTokens.clusterTime(resume.token());
    if (this instanceof StartAfter start) return ResumeTokens.clusterTime(start.token());
    if (this instanceof StartAtOperationTime at) return at.time();
    if (this instanceof Snapshot snapshot) return snapshot.at();
    return null;
  }

  static ResumePosition resumeAfter(BsonDocument token) {
    return new ResumeAfter(token);
  }

  static ResumePosition startAfter(BsonDocument token) {
    return new StartAfter(token);
  }

  static ResumePosition startAtOperationTime(BsonTimestamp time) {
    return new StartAtOperationTime(time);
  }

  /** Copy the collection's documents with {@code _id} after {@code after} (null: all), then stream from {@code at}. */
  static ResumePosition snapshot(BsonTimestamp at, BsonValue after) {
    return new Snapshot(at, null, after);
  }

  /**
   * Copy the collections of a database or deployment target from {@code namespace} on (null: from the
   * first), that collection's documents after {@code after} (null: all), then stream from {@code at}.
   */
  static ResumePosition snapshot(BsonTimestamp at, String namespace, BsonValue after) {
    return new Snapshot(at, namespace, after);
  }

  /**
   * The snapshot position a checkpoint's progress document stands for: {@code {}}, {@code {_id: ...}},
   * or, for a target of many collections, {@code {ns: "<db>.<collection>", _id: ...}}.
   */
  static ResumePosition snapshotFrom(BsonTimestamp at, BsonDocument progress) {
    String namespace = progress.isString("ns") ? progress.getString("ns").getValue() : null;
    return new Snapshot(at, namespace, progress.get("_id"));
  }

  static ResumePosition now() {
    return Now.INSTANCE;
  }

  record ResumeAfter(BsonDocument token) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.resumeAfter(token);
    }

    @Override
    public String describe() {
      return "resumeAfter " + token.toJson();
    }
  }

  record StartAfter(BsonDocument token) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAfter(token);
    }

    @Override
    public String describe() {
      return "startAfter " + token.toJson();
    }
  }

  record StartAtOperationTime(BsonTimestamp time) implements ResumePosition {
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAtOperationTime(time);
    }

    @Override
    public String describe() {
      return "startAtOperationTime Timestamp(" + time.getTime() + ", " + time.getInc() + ")";
    }
  }

  /**
   * A snapshot in progress: the documents after {@code _id} {@code after} (all when null) are still
   * to be copied; the change stream then opens at {@code at}, the operation time taken before the
   * copy started, so a change made during the copy is seen at least once. A target of many
   * collections copies them one after another in namespace order: {@code namespace} is the one in
   * progress (those before it are done; null: none begun), and {@code after} lies in it.
   */
  record Snapshot(BsonTimestamp at, String namespace, BsonValue after) implements ResumePosition {
    public Snapshot {
      java.util.Objects.requireNonNull(at, "at");
    }

    /** The change stream that follows the copy. */
    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher.startAtOperationTime(at);
    }

    /** Where the stream goes on once the copy is complete. */
    public ResumePosition stream() {
      return new StartAtOperationTime(at);
    }

    /** As a checkpoint keeps it: {@code {}}, {@code {_id: ...}}, {@code {ns: ...}} or {@code {ns: ..., _id: ...}}. */
    public BsonDocument progress() {
      BsonDocument progress = new BsonDocument();
      if (namespace != null) progress.append("ns", new org.bson.BsonString(namespace));
      if (after != null) progress.append("_id", after);
      return progress;
    }

    @Override
    public String describe() {
      String in = namespace == null ? "" : " of " + namespace;
      return "snapshot " + (after == null ? "from the first _id" + in : "after _id " + new BsonDocument("_id", after).toJson() + in)
          + ", then startAtOperationTime Timestamp(" + at.getTime() + ", " + at.getInc() + ")";
    }
  }

  enum Now implements ResumePosition {
    INSTANCE;

    @Override
    public ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher) {
      return publisher;
    }

    @Override
    public String describe() {
      return "now";
    }
  }
}
