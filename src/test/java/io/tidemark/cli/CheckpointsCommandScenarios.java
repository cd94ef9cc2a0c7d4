package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Errors;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.checkpoint.StreamCheckpoints;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.Arrays;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What {@code tidemark checkpoints ...} does the same on every checkpoint store, against two streams
 * {@link #seed} writes: "orders" (three events, then a gap; stopped, released) and "held" (its consumer
 * never let go). Each store's IT ({@link CheckpointsCommandIT}, {@link MongoCheckpointsCommandIT},
 * {@link RedisCheckpointsCommandIT}, {@link SqlCheckpointsCommandIT}) seeds its store, names it on the
 * command line and says where its errors place the streams; its own tests come on top. The reads
 * ({@code @Order(1)}) come before the rewind and reset of "held" ({@code @Order(2)}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class CheckpointsCommandScenarios {
  /** The consumer of "held" that never let go, and the epoch it took: set by {@link #writeTheCheckpoints}. */
  protected StreamCheckpoints held;
  protected long heldEpoch;

  /** The flags that name the seeded store, such as {@code --mongodb URI}. */
  protected abstract String[] storeFlags();

  /** Flags every {@link #run} adds after the store's, such as {@code --config FILE}; none by default. */
  protected String[] configFlags() {
    return new String[0];
  }

  /** Where the store's errors say the streams are, as in "unknown stream 'x': WHERE has these: ...". */
  protected abstract String storeNamedInErrors();

  /** The flags of a second store, given with {@link #storeFlags()} to see the command refuse two. */
  protected abstract String[] anotherStoresFlags();

  /** What the consumer of "held", fenced out by a forced rewind, meets when it saves again. */
  protected String fencedOutMessage() {
    return "another consumer has taken the stream";
  }

  /** The save of a checkpoint by the consumer of "held" after the forced rewind: the error it met, and the checkpoint it then loads. */
  record LateSave(Throwable error, Checkpoint loaded) {}

  /** The consumer of "held" saves {@code late} under its old epoch; by default through {@link #held} itself, still open. */
  protected LateSave saveAsTheHeldConsumer(Checkpoint late) throws Exception {
    return saveLate(held, heldEpoch, late);
  }

  protected static LateSave saveLate(StreamCheckpoints consumer, long epoch, Checkpoint late) throws Exception {
    Throwable error = Errors.unwrap(consumer.save(late, epoch).toCompletableFuture().handle((done, e) -> e).get(30, TimeUnit.SECONDS));
    return new LateSave(error, await(consumer.load()).orElseThrow());
  }

  protected static BsonDocument token(int seconds, int inc) {
    return new BsonDocument("_data", new BsonString(String.format("82%016x", new BsonTimestamp(seconds, inc).getValue())));
  }

  protected static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  /** "held"'s consumer, still open, and its epoch. */
  record Seeded(StreamCheckpoints held, long heldEpoch) {}

  /** Writes "orders" (released) and "held" (never let go) through {@code store}. */
  protected static Seeded seed(CheckpointStore store) throws Exception {
    StreamCheckpoints orders = await(store.open("orders"));
    long epoch = await(orders.acquire()).epoch();
    for (int i = 1; i <= 3; i++) {
      await(orders.save(Checkpoint.atToken("orders", token(1_800_000_000 + i, 1), new BsonTimestamp(1_800_000_000 + i, 1)), epoch));
    }
    await(orders.save(Checkpoint.atOperationTime("orders", new BsonTimestamp(1_800_000_100, 0))
        .as(CheckpointKind.GAP, "history lost at resumeAfter ...: restart-from-now"), epoch));
    await(orders.close());
    StreamCheckpoints held = await(store.open("held"));
    long heldEpoch = await(held.acquire()).epoch();
    await(held.save(Checkpoint.atToken("held", token(1_800_000_050, 7), new BsonTimestamp(1_800_000_050, 7)), heldEpoch));
    return new Seeded(held, heldEpoch); // never closed: like a consumer that crashed, it still holds the stream
  }

  /** {@link #seed}s the store the tests read, keeping "held"'s consumer and epoch. */
  protected void writeTheCheckpoints(CheckpointStore store) throws Exception {
    Seeded seeded = seed(store);
    held = seeded.held();
    heldEpoch = seeded.heldEpoch();
  }

  record Outcome(int exitCode, String out, String err) {}

  protected static Outcome execute(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Outcome(code, out.toString(), err.toString());
  }

  /** {@code args} against the seeded store. */
  protected Outcome run(String... args) {
    return execute(Stream.of(args, storeFlags(), configFlags()).flatMap(Arrays::stream).toArray(String[]::new));
  }

  @Test
  @Order(1)
  void listShowsEveryStreamWithItsCheckpointAndHolder() {
    Outcome listed = run("checkpoints", "list");
    assertThat(listed.exitCode()).as(listed.err()).isZero();
    String[] lines = listed.out().strip().split("\n");
    assertThat(lines[0]).startsWith("STREAM").contains("KIND", "CLUSTER TIME", "SAVED", "EPOCH", "HELD BY", "POSITION");
    assertThat(lines).hasSize(3);
    assertThat(lines[1]).startsWith("held ").contains("event", "Timestamp(1800000050, 7)", "epoch " + heldEpoch, "resumeAfter");
    assertThat(lines[2]).startsWith("orders ").contains("gap", "Timestamp(1800000100, 0)", "startAtOperationTime")
        .doesNotContain("epoch " + heldEpoch + " ");
  }

  @Test
  @Order(1)
  void showAndHistoryTellOneStreamsStory() {
    Outcome shown = run("checkpoints", "show", "orders");
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out())
        .contains("stream:        orders")
        .contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)")
        .contains("kind:          gap")
        .contains("note:          history lost at resumeAfter ...: restart-from-now")
        .contains("held by:       nobody")
        .contains("saves:         4");

    Outcome history = run("checkpoints", "history", "orders");
    assertThat(history.exitCode()).as(history.err()).isZero();
    String[] entries = history.out().strip().split("\n");
    assertThat(entries).hasSize(5);
    assertThat(entries[1]).contains("event", "Timestamp(1800000001, 1)");
    assertThat(entries[4]).contains("gap", "restart-from-now");
    Outcome newest = run("checkpoints", "history", "orders", "--limit", "2");
    assertThat(newest.out().strip().split("\n")).hasSize(3);

    Outcome badLimit = run("checkpoints", "history", "orders", "--limit", "0");
    assertThat(badLimit.exitCode()).isEqualTo(Main.USAGE);
    assertThat(badLimit.err()).contains("invalid --limit 0: expected a positive number");
  }

  @Test
  void anUnknownStreamNamesTheKnownOnes() {
    Outcome outcome = run("checkpoints", "show", "nosuch");
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err().strip()).isEqualTo("error: unknown stream 'nosuch': " + storeNamedInErrors() + " has these: held, orders");
  }

  @Test
  @Order(1)
  void rewindNeedsConfirmationAndAValidTarget() {
    Outcome unconfirmed = run("checkpoints", "rewind", "orders", "--to-time", "2027-01-15T08:00:00Z");
    assertThat(unconfirmed.exitCode()).isEqualTo(Main.USAGE);
    assertThat(unconfirmed.err()).contains("rewind changes where the stream resumes: pass --yes to confirm");
    Outcome badTime = run("checkpoints", "rewind", "orders", "--to-time", "yesterday", "--yes");
    assertThat(badTime.exitCode()).isEqualTo(Main.USAGE);
    assertThat(badTime.err()).contains("invalid --to-time 'yesterday': expected an ISO-8601 time such as");
    Outcome badToken = run("checkpoints", "rewind", "orders", "--to-token", "{oops", "--yes");
    assertThat(badToken.exitCode()).isEqualTo(Main.USAGE);
    assertThat(badToken.err()).contains("invalid --to-token '{oops'");
    Outcome both = run("checkpoints", "rewind", "orders", "--to-time", "1", "--to-token", "82ab", "--yes");
    assertThat(both.exitCode()).isEqualTo(Main.USAGE);
    assertThat(run("checkpoints", "show", "orders").out()).contains("kind:          gap");
  }

  @Test
  @Order(2)
  void aHeldStreamIsRefusedUnlessForcedAndForcingFencesTheConsumerOut() throws Exception {
    Outcome refused = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes");
    assertThat(refused.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(refused.err().strip()).startsWith("error: refused: the consumer with epoch " + heldEpoch + " holds the stream (since ")
        .endsWith("stop it first; a consumer that crashed never lets go: then pass --force, which fences it out");
    assertThat(run("checkpoints", "reset", "held", "--yes").exitCode()).isEqualTo(Main.BAD_INPUT);

    Outcome forced = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes", "--force");
    assertThat(forced.exitCode()).as(forced.err()).isZero();
    assertThat(forced.out()).contains("rewound 'held' to startAtOperationTime Timestamp(1800000000, 0)");
    assertThat(run("checkpoints", "show", "held").out()).contains("held by:       nobody").contains("kind:          rewind")
        .contains("epoch:         " + (heldEpoch + 1));

    LateSave late = saveAsTheHeldConsumer(Checkpoint.atToken("held", token(1_800_000_060, 1), new BsonTimestamp(1_800_000_060, 1)));
    assertThat(late.error()).isInstanceOf(FencedException.class).hasMessageContaining(fencedOutMessage());
    assertThat(late.loaded().clusterTime()).isEqualTo(new BsonTimestamp(1_800_000_000, 0));

    Outcome reset = run("checkpoints", "reset", "held", "--yes");
    assertThat(reset.exitCode()).as(reset.err()).isZero();
    assertThat(run("checkpoints", "show", "held").out()).contains("checkpoint:    none");
    assertThat(run("checkpoints", "history", "held").out()).contains("rewound by hand").contains("reset by hand");
  }

  @Test
  void twoStoresAtOnceAreRefused() {
    Outcome outcome = execute(Stream.of(new String[] {"checkpoints", "list"}, storeFlags(), anotherStoresFlags())
        .flatMap(Arrays::stream).toArray(String[]::new));
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err()).contains("--checkpoints, --sql JDBC_URL, --mongodb and --redis each name a store: give one");
  }
}
