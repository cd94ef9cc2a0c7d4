package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tidemark.Await;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.LongStream;
import org.bson.BsonObjectId;
import org.bson.BsonTimestamp;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * What every {@link CheckpointStore} must do, run against each of them: a saved checkpoint is read
 * back by another store on the same backend with the next epoch; streams are apart and opened once;
 * a save under an older epoch, or one that moves backwards, is refused and changes nothing; the
 * history is bounded as {@link StreamCheckpoints#history()} says; a corrupt stored token is reported
 * with the stream's name and left as it is; the admin's rewind and reset fence the holder out.
 *
 * <p>A subclass names the backend ({@link #newStore()}: a store as another node would have it, with
 * its own connections or actor system). Every test uses its own stream names, so a backend may be
 * shared between the tests of a class and between runs.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class CheckpointStoreContract {
  private static final AtomicInteger streams = new AtomicInteger();
  private final String run = Long.toString(System.nanoTime() % 1_000_000_000L, 36);

  /** A store on the shared backend, as another node would have it. */
  abstract CheckpointStore newStore() throws Exception;

  /** The number of routine (and, apart from them, notable) entries the stores' history keeps. */
  abstract int historySize();

  /**
   * An admin over the backend. A store without one (Kafka, memory) overrides
   * {@link #theAdminRewindsAndResetsUnderANewEpoch} without {@code @Test}: the case does not exist there.
   */
  Optional<CheckpointAdmin> admin() {
    return Optional.empty();
  }

  /**
   * Writes {@code raw} as the stream's stored resume token, behind the store's back. The in-memory
   * store keeps tokens as objects (nothing can corrupt them) and overrides
   * {@link #aCorruptStoredTokenIsReportedWithTheStreamAndLeftAsItIs} without {@code @Test}.
   */
  boolean storeCorruptToken(String stream, String raw) throws Exception {
    return false;
  }

  /** The longest wait for one store call: generous, as the machine may be loaded. */
  Duration timeout() {
    return Duration.ofSeconds(30);
  }

  /** A stream name of this test alone. */
  String stream(String name) {
    return name + "-" + run + "-" + streams.incrementAndGet();
  }

  <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(timeout().toSeconds(), TimeUnit.SECONDS);
  }

  static Checkpoint checkpointAt(String stream, long seqNr) {
    ChangeEnvelope envelope = Envelopes.insert(seqNr);
    return Checkpoint.atToken(stream, envelope.resumeToken(), envelope.clusterTime());
  }

  /**
   * Saves, retrying while the store is unavailable as the window does (the JDBC store's entity on
   * an old node learns of a newer epoch when its own write collides in the journal); returns the
   * final error, or null.
   */
  Throwable saveAsTheWindowDoes(StreamCheckpoints record, Checkpoint checkpoint, long epoch) throws Exception {
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        await(record.save(checkpoint, epoch));
        return null;
      } catch (ExecutionException e) {
        Throwable cause = Errors.unwrap(e);
        if (!(cause instanceof CheckpointStoreUnavailableException)) return cause;
      }
    }
    throw new AssertionError("the store stayed unavailable");
  }

  @Test
  void aSavedCheckpointIsReadBackByAnotherStoreWithTheNextEpoch() throws Exception {
    String orders = stream("orders");
    StreamCheckpoints first = await(newStore().open(orders));
    assertThat(await(first.load())).isEmpty();
    long epoch = await(first.acquire()).epoch();
    assertThat(epoch).isPositive();
    await(first.save(checkpointAt(orders, 41), epoch));
    await(first.save(checkpointAt(orders, 42), epoch));
    assertThat(await(first.load())).contains(checkpointAt(orders, 42));
    await(first.close());

    StreamCheckpoints second = await(newStore().open(orders));
    Acquired acquired = await(second.acquire());
    assertThat(acquired.epoch()).isGreaterThan(epoch);
    Checkpoint loaded = acquired.checkpoint().orElseThrow();
    assertThat(loaded).isEqualTo(checkpointAt(orders, 42));
    assertThat(loaded.epoch()).isEqualTo(epoch);
    assertThat(loaded.kind()).isEqualTo(CheckpointKind.EVENT);
    assertThat(loaded.position().describe()).isEqualTo("resumeAfter " + checkpointAt(orders, 42).resumeToken().toJson());
    await(second.close());

    StreamCheckpoints third = await(newStore().open(orders));
    assertThat(await(third.acquire()).epoch()).isGreaterThan(acquired.epoch());
    await(third.close());
  }

  @Test
  void aStreamIsOpenedOncePerStoreAndTwoStreamsNeverShareACheckpoint() throws Exception {
    CheckpointStore store = newStore();
    String a = stream("stream-a");
    String b = stream("stream-b");
    StreamCheckpoints recordA = await(store.open(a));
    assertThat(Await.failureOf(store.open(a))).hasMessageContaining("already open in this process");
    StreamCheckpoints recordB = await(store.open(b));
    long epochA = await(recordA.acquire()).epoch();
    long epochB = await(recordB.acquire()).epoch();
    await(recordA.save(checkpointAt(a, 7), epochA));
    await(recordB.save(checkpointAt(b, 9), epochB));
    await(recordA.save(checkpointAt(a, 8), epochA));
    assertThat(await(recordA.load())).contains(checkpointAt(a, 8));
    assertThat(await(recordB.load())).contains(checkpointAt(b, 9));
    assertThatThrownBy(() -> recordB.save(checkpointAt(a, 10), epochB)).hasMessageContaining("through the record of '" + b + "'");
    await(recordA.close());
    await(recordB.close());
    assertThat(await(await(store.open(a)).load())).contains(checkpointAt(a, 8));
  }

  /** A partitioned old leader and its successor, each with its own store, as on two nodes. */
  @Test
  void aFencedConsumerCannotWriteAndTheCheckpointNeverMovesBackwards() throws Exception {
    String contested = stream("contested");
    StreamCheckpoints oldLeader = await(newStore().open(contested));
    long oldEpoch = await(oldLeader.acquire()).epoch();
    await(oldLeader.save(checkpointAt(contested, 100), oldEpoch));

    StreamCheckpoints newLeader = await(newStore().open(contested));
    Acquired taken = await(newLeader.acquire());
    assertThat(taken.epoch()).isGreaterThan(oldEpoch);
    assertThat(taken.checkpoint()).contains(checkpointAt(contested, 100));

    // The old leader, cut off, goes on: every write is refused, however far ahead it is, and changes nothing.
    for (long seqNr : new long[] {150, 101, 300}) {
      assertThat(saveAsTheWindowDoes(oldLeader, checkpointAt(contested, seqNr), oldEpoch))
          .isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
      assertThat(await(newLeader.load())).contains(checkpointAt(contested, 100));
    }
    assertThat(saveAsTheWindowDoes(newLeader, checkpointAt(contested, 120), taken.epoch())).isNull();
    assertThat(saveAsTheWindowDoes(newLeader, checkpointAt(contested, 110), taken.epoch()))
        .isInstanceOf(FencedException.class).hasMessageContaining("backwards");
    assertThat(await(newLeader.load())).contains(checkpointAt(contested, 120));
    // The older epoch is refused through any record, not only the old leader's.
    assertThat(saveAsTheWindowDoes(newLeader, checkpointAt(contested, 500), oldEpoch)).isInstanceOf(FencedException.class);
    assertThat(saveAsTheWindowDoes(newLeader, checkpointAt(contested, 130), taken.epoch())).isNull();
    assertThat(saveAsTheWindowDoes(oldLeader, checkpointAt(contested, 400), oldEpoch)).isInstanceOf(FencedException.class);

    Checkpoint stored = await(newLeader.load()).orElseThrow();
    assertThat(stored).isEqualTo(checkpointAt(contested, 130));
    assertThat(stored.epoch()).isEqualTo(taken.epoch());
    assertThat(await(newLeader.history())).extracting(Checkpoint::clusterTime).containsExactly(
        checkpointAt(contested, 100).clusterTime(), checkpointAt(contested, 120).clusterTime(), checkpointAt(contested, 130).clusterTime());
    await(oldLeader.close());
    await(newLeader.close());
  }

  /** A fault policy chose where the stream goes on: a gap may move the checkpoint back (the oplog's oldest entry can be older). */
  @Test
  void aGapMayMoveTheCheckpointBack() throws Exception {
    String skipping = stream("skipping");
    StreamCheckpoints record = await(newStore().open(skipping));
    long epoch = await(record.acquire()).epoch();
    await(record.save(checkpointAt(skipping, 50), epoch));
    await(record.save(checkpointAt(skipping, 20).as(CheckpointKind.GAP, "restart from oldest"), epoch));
    Checkpoint stored = await(record.load()).orElseThrow();
    assertThat(stored).isEqualTo(checkpointAt(skipping, 20));
    assertThat(stored.kind()).isEqualTo(CheckpointKind.GAP);
    assertThat(stored.note()).isEqualTo("restart from oldest");
    await(record.close());
  }

  /** Many saves of one consumer in flight at once, in any order: the newest wins, and none moves the checkpoint back. */
  @Test
  void concurrentSavesLeaveTheNewestCheckpoint() throws Exception {
    String busy = stream("concurrent");
    StreamCheckpoints record = await(newStore().open(busy));
    long epoch = await(record.acquire()).epoch();
    List<Long> order = new ArrayList<>(LongStream.rangeClosed(1, 40).boxed().toList());
    Collections.shuffle(order, new Random(17));
    List<CompletableFuture<?>> saves = new ArrayList<>();
    for (long seqNr : order) saves.add(record.save(checkpointAt(busy, seqNr), epoch).toCompletableFuture());
    for (CompletableFuture<?> save : saves) {
      Throwable failure = Await.failureOf(save);
      if (failure != null) assertThat(failure).isInstanceOf(FencedException.class).hasMessageContaining("backwards");
    }
    assertThat(Await.failureOf(saves.get(order.indexOf(40L)))).isNull();
    assertThat(await(record.load())).contains(checkpointAt(busy, 40));
    await(record.close());
  }

  @Test
  void theHistoryIsBoundedAndKeepsNotableEntriesApartFromRoutineOnes() throws Exception {
    String historic = stream("historic");
    StreamCheckpoints record = await(newStore().open(historic));
    long epoch = await(record.acquire()).epoch();
    await(record.save(checkpointAt(historic, 1).as(CheckpointKind.GAP, "skipped 3 events"), epoch));
    int routine = historySize() + 20;
    for (long seqNr = 2; seqNr <= routine + 1; seqNr++) await(record.save(checkpointAt(historic, seqNr), epoch));

    List<Checkpoint> history = await(record.history());
    assertThat(history).hasSize(historySize() + 1);
    assertThat(history.get(0).kind()).isEqualTo(CheckpointKind.GAP);
    assertThat(history.get(0).note()).isEqualTo("skipped 3 events");
    assertThat(history.get(1)).isEqualTo(checkpointAt(historic, routine + 2 - historySize()));
    assertThat(history.get(history.size() - 1)).isEqualTo(checkpointAt(historic, routine + 1));
    await(record.close());
  }

  /**
   * A signal entry (what an incremental snapshot request did), saved at the position of the
   * checkpoint before it, is accepted and kept apart from the routine entries, with its note,
   * however many events follow.
   */
  @Test
  void aSignalEntryAtTheSamePositionIsKeptWithItsNoteApartFromRoutineOnes() throws Exception {
    String signalled = stream("signalled");
    StreamCheckpoints record = await(newStore().open(signalled));
    long epoch = await(record.acquire()).epoch();
    await(record.save(checkpointAt(signalled, 1), epoch));
    await(record.save(checkpointAt(signalled, 1).as(CheckpointKind.SIGNAL, "incremental snapshot 1 of shop.orders: started"), epoch));
    for (long seqNr = 2; seqNr <= historySize() + 10; seqNr++) await(record.save(checkpointAt(signalled, seqNr), epoch));

    List<Checkpoint> signals = await(record.history()).stream().filter(c -> c.kind() == CheckpointKind.SIGNAL).toList();
    assertThat(signals).hasSize(1);
    assertThat(signals.get(0).note()).isEqualTo("incremental snapshot 1 of shop.orders: started");
    assertThat(signals.get(0).position()).isEqualTo(checkpointAt(signalled, 1).position());
    await(record.close());
  }

  @Test
  void snapshotProgressIsKeptWithItsIdType() throws Exception {
    String copying = stream("copying");
    StreamCheckpoints record = await(newStore().open(copying));
    long epoch = await(record.acquire()).epoch();
    BsonTimestamp at = new BsonTimestamp(1_700_000_000, 1);
    ObjectId last = new ObjectId();
    await(record.save(Checkpoint.snapshot(copying, at, null, null), epoch));
    await(record.save(Checkpoint.snapshot(copying, at, new BsonObjectId(last), null), epoch));
    await(record.close());

    StreamCheckpoints again = await(newStore().open(copying));
    Checkpoint stored = await(again.acquire()).checkpoint().orElseThrow();
    assertThat(stored.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(stored.inSnapshot()).isTrue();
    assertThat(stored.snapshot().get("_id")).isEqualTo(new BsonObjectId(last));
    assertThat(stored.position().describe()).contains("snapshot").contains(last.toHexString());
    await(again.close());
  }

  @Test
  void aCorruptStoredTokenIsReportedWithTheStreamAndLeftAsItIs() throws Exception {
    String damaged = stream("damaged");
    assertThat(storeCorruptToken(damaged, "{not a token")).as("the fixture stored the damaged token").isTrue();
    StreamCheckpoints record = await(newStore().open(damaged));
    Acquired acquired = await(record.acquire());
    assertThat(acquired.epoch()).isPositive();
    assertThat(acquired.checkpoint()).isEmpty();
    assertThat(acquired.corruption()).isInstanceOf(CorruptCheckpointException.class)
        .hasMessageContaining("stream '" + damaged + "'").hasMessageContaining("{not a token");
    assertThat(Await.failureOf(record.load())).isInstanceOf(CorruptCheckpointException.class)
        .hasMessageContaining("stream '" + damaged + "'");
    await(record.close());
    // Another store still finds the value as it was: nothing repaired or replaced it.
    StreamCheckpoints again = await(newStore().open(damaged));
    assertThat(Await.failureOf(again.load())).isInstanceOf(CorruptCheckpointException.class).hasMessageContaining("{not a token");
    await(again.close());
  }

  /**
   * Rewind and reset by hand: refused while a consumer holds the stream, unless forced; forced,
   * they take a new epoch, so the consumer that held the stream is fenced out; the next consumer
   * resumes at the rewound position, from where it may save (a rewind is not "backwards").
   */
  @Test
  void theAdminRewindsAndResetsUnderANewEpoch() throws Exception {
    CheckpointAdmin admin = admin().orElseThrow(() -> new AssertionError("the fixture has no admin: override this case"));
    String moved = stream("moved");
    StreamCheckpoints holder = await(newStore().open(moved));
    long held = await(holder.acquire()).epoch();
    await(holder.save(checkpointAt(moved, 100), held));
    await(holder.save(checkpointAt(moved, 110), held));
    assertThat(admin.streams()).contains(moved);
    assertThat(admin.state(moved).holder()).isEqualTo(held);

    assertThatThrownBy(() -> admin.reset(moved, "by hand", false)).isInstanceOf(TidemarkException.class)
        .hasMessageContaining("refused").hasMessageContaining("holds the stream");
    assertThat(await(holder.load())).contains(checkpointAt(moved, 110));

    CheckpointAdmin.StreamState rewound = admin.rewind(moved, checkpointAt(moved, 50).resumeToken(), null, "replay", true);
    assertThat(rewound.epoch()).isGreaterThan(held);
    assertThat(rewound.holder()).isZero();
    assertThat(rewound.checkpoint().orElseThrow().kind()).isEqualTo(CheckpointKind.REWIND);
    assertThat(rewound.checkpoint().get().resumeToken()).isEqualTo(checkpointAt(moved, 50).resumeToken());
    assertThat(saveAsTheWindowDoes(holder, checkpointAt(moved, 120), held)).isInstanceOf(FencedException.class);
    await(holder.close());

    StreamCheckpoints next = await(newStore().open(moved));
    Acquired resumed = await(next.acquire());
    assertThat(resumed.epoch()).isGreaterThan(rewound.epoch());
    assertThat(resumed.checkpoint().orElseThrow().position().describe())
        .isEqualTo("resumeAfter " + checkpointAt(moved, 50).resumeToken().toJson());
    assertThat(saveAsTheWindowDoes(next, checkpointAt(moved, 60), resumed.epoch())).isNull();
    await(next.close());

    Await.until(timeout(), () -> admin.state(moved).holder() == 0, () -> "the consumer let go: " + admin.state(moved));
    CheckpointAdmin.StreamState reset = admin.reset(moved, "start over", false);
    assertThat(reset.checkpoint()).isEmpty();
    assertThat(reset.history()).extracting(Checkpoint::kind).contains(CheckpointKind.REWIND).endsWith(CheckpointKind.RESET);
    StreamCheckpoints fresh = await(newStore().open(moved));
    Acquired afterReset = await(fresh.acquire());
    assertThat(afterReset.checkpoint()).isEmpty();
    assertThat(afterReset.epoch()).isGreaterThan(reset.epoch());
    await(fresh.close());

    assertThatThrownBy(() -> admin.state(stream("unknown"))).hasMessageContaining("unknown stream");
  }
}
