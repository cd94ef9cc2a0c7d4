package io.tidemark.source;

import io.tidemark.StreamMdc;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import io.tidemark.Errors;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.conversions.Bson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Numbers what arrives, in order, into {@link StreamElement}s: events without gaps from 1, the
 * fragments of a split event joined into one, a heartbeat as the event it follows — and dropped
 * when anything may have overtaken it.
 */
final class Numbering {
  private static final Logger log = LoggerFactory.getLogger(Numbering.class);

  private Numbering() {}

  /**
   * Numbers what arrived, joins fragments, and drops a heartbeat that anything may have overtaken.
   * A heartbeat is numbered as the event it follows: it takes no place of its own in the window.
   *
   * @return the element to hand on; null for nothing (a dropped heartbeat, a fragment before the last)
   */
  static StreamElement deliver(ChangeStreamSource.Definition definition, SourceState state, Incoming arrived) {
    if (arrived instanceof Incoming.Heartbeat heartbeat) {
      // Only when nothing left the reopening source since the probe began, and nothing is still on its way.
      if (heartbeat.takenWhenProbed() != state.taken || state.arrived != state.taken) return null;
      state.lastHeartbeat = heartbeat.token();
      state.lastHeartbeatTaken = heartbeat.takenWhenProbed();
      return new StreamElement.Heartbeat(state.seqNr, heartbeat.token());
    }
    if (arrived instanceof Incoming.Event event) return deliverEvent(definition, state, event.event());
    state.arrived();
    if (arrived instanceof Incoming.Gap gap) {
      return new StreamElement.Gap(++state.seqNr, gap.at(), gap.note());
    }
    if (arrived instanceof Incoming.Copied copied) {
      ChangeEnvelope envelope = copied.snapshot().chunks() != null || copied.snapshot().collections() != null
          ? ChangeEnvelope.snapshotAt(++state.seqNr, copied.namespace(), copied.snapshot(), copied.document(), copied.shardKey())
          : copied.snapshot().namespace() == null
          ? ChangeEnvelope.snapshot(++state.seqNr, copied.namespace(), copied.snapshot().at(), copied.document(), copied.shardKey())
          : ChangeEnvelope.snapshotOfMany(++state.seqNr, copied.namespace(), copied.snapshot().at(), copied.document(), copied.shardKey());
      state.delivered();
      definition.progress().onDocument();
      return envelope;
    }
    if (arrived instanceof Incoming.CopiedBatch batch) {
      state.lastDeliveryNanos = System.nanoTime();
      definition.progress().onDocuments(batch.documents());
      return new StreamElement.CopiedBatch(++state.seqNr, batch.snapshot(), batch.namespace().getFullName(), batch.documents());
    }
    if (arrived instanceof Incoming.Copy copy) {
      state.overlapUntil = copy.until();
      state.delivered();
      return new StreamElement.SnapshotEnd(++state.seqNr, copy.snapshot().at(), copy.note());
    }
    throw new IllegalArgumentException("unknown element " + arrived);
  }

  /** Numbers an event (or a fragment of a split one) as it left the cursor; null for a fragment before the last. */
  static StreamElement deliverEvent(ChangeStreamSource.Definition definition, SourceState state, ChangeStreamDocument<Document> event) {
    state.arrived();
    ChangeEnvelope envelope;
    if (event.getSplitEvent() != null) {
      if (event.getSplitEvent().getFragment() == 1) state.fragments.clear(); // a reopen resends from the first
      ChangeEnvelope fragment = ChangeEnvelope.of(state.seqNr + 1, event);
      state.fragments.add(fragment.eventDocument());
      if (event.getSplitEvent().getFragment() < event.getSplitEvent().getOf()) return null;
      envelope = ChangeEnvelope.fromEventDocument(++state.seqNr, joined(state.fragments));
      state.fragments.clear();
    } else {
      envelope = ChangeEnvelope.of(++state.seqNr, event);
    }
    state.delivered();
    org.bson.BsonTimestamp overlap = state.overlapUntil;
    if (overlap != null) {
      if (envelope.clusterTime() != null && envelope.clusterTime().compareTo(overlap) <= 0) definition.progress().onOverlapEvent();
      else state.overlapUntil = null;
    }
    if ("invalidate".equals(envelope.operationType())) {
      StreamMdc.warn(log, definition.stream(), "stream '{}': invalidated (the collection was dropped or renamed); {}", definition.stream(),
          definition.faults().followCollection
              ? "following the collection: reopening with startAfter the invalidate"
              : "the stream ends here and keeps its checkpoint (set tidemark.pipeline.faults.follow-collection = on to follow)");
    }
    return envelope;
  }

  /** The fragments of a split event as one event, with the last fragment's token. */
  static BsonDocument joined(List<BsonDocument> fragments) {
    BsonDocument event = new BsonDocument();
    for (BsonDocument fragment : fragments) {
      fragment.forEach((field, value) -> {
        if (!"splitEvent".equals(field)) event.put(field, value);
      });
    }
    return event;
  }
}
