package io.tidemark.source;

import com.mongodb.client.model.changestream.ChangeStreamDocument;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;

/** What arrives at the numbering, in order, before it becomes a {@link StreamElement}. */
sealed interface Incoming {

  /** An event (or a fragment of a split one) of the stream. */
  record Event(ChangeStreamDocument<Document> event) implements Incoming {}

  /** The server's position after the stream's, probed when {@code takenWhenProbed} elements had left the reopening source. */
  record Heartbeat(BsonDocument token, long takenWhenProbed) implements Incoming {}

  /** A gap a policy recorded, to go through the window in order with the events. */
  record Gap(ResumePosition at, String note) implements Incoming {}

  /**
   * A document a snapshot copied from {@code namespace}, a collection with this shard key (null: not
   * sharded). {@code snapshot} names the namespace when the target has many collections.
   */
  record Copied(Document document, com.mongodb.MongoNamespace namespace, ResumePosition.Snapshot snapshot, BsonDocument shardKey)
      implements Incoming {}

  /**
   * A batch of {@code documents} documents of {@code namespace} that copy workers copied (and ran
   * through their handler) elsewhere; {@code snapshot} is the copy's position after it.
   */
  record CopiedBatch(com.mongodb.MongoNamespace namespace, ResumePosition.Snapshot snapshot, int documents) implements Incoming {}

  /** The snapshot's last document is delivered; changes up to {@code until} were made while it ran. */
  record Copy(ResumePosition.Snapshot snapshot, BsonTimestamp until, String note) implements Incoming {}
}
