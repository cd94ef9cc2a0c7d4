package io.tidemark.source;

import java.util.Objects;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * What a change-stream source hands on, in order: an event (or a copied document), which goes to
 * the user's stages, or a position without an event, which only the window sees. Sequence numbers
 * count events and the positions that are saved as themselves (gaps, a snapshot's end, notes) from 1
 * without gaps; a heartbeat carries the number of the event it follows.
 */
public sealed interface StreamElement permits ChangeEnvelope, StreamElement.Heartbeat, StreamElement.Gap, StreamElement.SnapshotEnd,
    StreamElement.CopiedBatch, StreamElement.Note {

  long seqNr();

  /** The cluster time this element stands at; null only for events of servers older than 4.0. */
  BsonTimestamp clusterTime();

  /**
   * A quiet stream's position, from the server's postBatchResumeToken: no event, only a token that
   * a checkpoint may move to once the event it follows is done.
   */
  record Heartbeat(long seqNr, BsonDocument token) implements StreamElement {
    public Heartbeat {
      Objects.requireNonNull(token, "token");
    }

    @Override
    public BsonTimestamp clusterTime() {
      return ResumeTokens.clusterTime(token);
    }
  }

  /**
   * Where a fault policy moved the stream on, and what it skipped: saved (as a checkpoint of kind
   * gap, with the note) once every event before it is done, before any position after it.
   */
  record Gap(long seqNr, ResumePosition at, String note) implements StreamElement {
    public Gap {
      Objects.requireNonNull(at, "at");
      Objects.requireNonNull(note, "note");
    }

    @Override
    public BsonTimestamp clusterTime() {
      return at.clusterTime();
    }
  }

  /** The end of a snapshot taken at {@code at}: the copy is complete and the stream goes on from there. */
  record SnapshotEnd(long seqNr, BsonTimestamp at, String note) implements StreamElement {
    public SnapshotEnd {
      Objects.requireNonNull(at, "at");
    }

    @Override
    public BsonTimestamp clusterTime() {
      return at;
    }
  }

  /**
   * A batch of a snapshot's chunk that copy workers copied elsewhere ({@link ChunkCopier}): its
   * {@code documents} documents of {@code namespace} already went through the workers' handler, so
   * it goes to no stage — it is done once admitted — and a checkpoint here keeps {@code position},
   * the copy's progress after it, like a copied document's.
   */
  record CopiedBatch(long seqNr, ResumePosition.Snapshot position, String namespace, int documents) implements StreamElement {
    public CopiedBatch {
      Objects.requireNonNull(position, "position");
    }

    @Override
    public BsonTimestamp clusterTime() {
      return position.at();
    }

    public CopiedBatch withSeqNr(long seqNr) {
      return new CopiedBatch(seqNr, position, namespace, documents);
    }
  }

  /**
   * A note for the checkpoint history at the stream's position — the token (and time) of the event
   * or heartbeat just before it — such as an incremental snapshot request's start or end: saved, as a
   * checkpoint of kind signal with the note, once every element before it is done. It moves the
   * stream nowhere: a restart from it goes on after that token, as from the element before it.
   */
  record Note(long seqNr, BsonDocument token, BsonTimestamp clusterTime, String note) implements StreamElement {
    public Note {
      Objects.requireNonNull(token, "token");
      Objects.requireNonNull(note, "note");
    }
  }
}
