package io.tidemark.source;

import com.mongodb.reactivestreams.client.ChangeStreamPublisher;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;

/** Where a change stream opens: the options {@code resumeAfter}, {@code startAfter}, {@code startAtOperationTime}, or now. */
public sealed interface ResumePosition {

  ChangeStreamPublisher<Document> applyTo(ChangeStreamPublisher<Document> publisher);

  /** For the log: which option and its value. */
  String describe();

  static ResumePosition resumeAfter(BsonDocument token) {
    return new ResumeAfter(token);
  }

  static ResumePosition startAfter(BsonDocument token) {
    return new StartAfter(token);
  }

  static ResumePosition startAtOperationTime(BsonTimestamp time) {
    return new StartAtOperationTime(time);
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
