package io.tidemark.embedded;

import de.bwaldvogel.mongo.backend.AbstractCursor;
import de.bwaldvogel.mongo.bson.Document;
import java.util.List;

/**
 * A query cursor that reads each batch when it is asked for (mongo-java-server's keeps every
 * result in memory from the first batch on). A getMore without a batch size gets what fits in
 * {@link #MAX_BATCH_BYTES}, as from a mongod.
 */
final class DocumentCursor extends AbstractCursor {
  /** A batch is cut after the document that takes it past this many bytes, as a mongod's reply is. */
  static final long MAX_BATCH_BYTES = 16L * 1024 * 1024;

  /** Where the batches come from. */
  interface Batches {
    List<Document> next(int maxDocuments, long maxBytes);

    boolean done();
  }

  private final Batches batches;

  DocumentCursor(long id, Batches batches) {
    super(id);
    this.batches = batches;
  }

  @Override
  public boolean isEmpty() {
    return batches.done();
  }

  @Override
  public List<Document> takeDocuments(int numberToReturn) {
    return batches.next(numberToReturn > 0 ? numberToReturn : Integer.MAX_VALUE, MAX_BATCH_BYTES);
  }
}
