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

  /** Not a case here: tokens are kept as objects, never serialized, so none can be corrupt. */
  @Override
  void aCorruptStoredTokenIsReportedWithTheStreamAndLeftAsItIs() {}

  /** Not a case here: the in-memory store has no admin (it lives and dies with its process). */
  @Override
  void theAdminRewindsAndResetsUnderANewEpoch() {}
}
