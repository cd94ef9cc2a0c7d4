package io.tidemark.checkpoint;

/** The checkpoint contract in memory: stores made with {@code peer()} share the records, as processes share a database. */
class InMemoryCheckpointStoreTest extends CheckpointStoreContract {
  private final InMemoryCheckpointStore records = InMemoryCheckpointStore.create(10);

  @Override
  CheckpointStore newStore() {
    return records.peer();
  }

  @Override
  int historySize() {
    return 10;
  }
}
