package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Errors;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.checkpoint.MongoCheckpointSettings;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.connection.MongoConnector;
import io.tidemark.testkit.FaultyMongo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code tidemark checkpoints ... --mongodb URI} against checkpoints written by the MongoDB store:
 * "orders" (stopped, released) and "held" (its consumer never let go).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MongoCheckpointsCommandIT {
  private final FaultyMongo mongo = FaultyMongo.embedded(EmbeddedSettings.defaults().withCommitBeforeAck(false));
  private final MongoClient client = MongoConnector.connect(mongo.uri(), Duration.ofSeconds(10));
  private final MongoCheckpointSettings settings = MongoCheckpointSettings.create(ConfigFactory.load());
  private StreamCheckpoints held;
  private long heldEpoch;

  private static BsonDocument token(int seconds, int inc) {
    return new BsonDocument("_data", new BsonString(String.format("82%016x", new BsonTimestamp(seconds, inc).getValue())));
  }

  private static <T> T await(CompletionStage<T> stage) throws Exception {
    return stage.toCompletableFuture().get(30, TimeUnit.SECONDS);
  }

  @BeforeAll
  void writeCheckpoints() throws Exception {
    MongoCheckpointStore store = MongoCheckpointStore.create(client, settings);
    StreamCheckpoints orders = await(store.open("orders"));
    long epoch = await(orders.acquire()).epoch();
    for (int i = 1; i <= 3; i++) {
      await(orders.save(Checkpoint.atToken("orders", token(1_800_000_000 + i, 1), new BsonTimestamp(1_800_000_000 + i, 1)), epoch));
    }
    await(orders.save(Checkpoint.atOperationTime("orders", new BsonTimestamp(1_800_000_100, 0))
        .as(CheckpointKind.GAP, "history lost at resumeAfter ...: restart-from-now"), epoch));
    await(orders.close());
    held = await(store.open("held"));
    heldEpoch = await(held.acquire()).epoch();
    await(held.save(Checkpoint.atToken("held", token(1_800_000_050, 7), new BsonTimestamp(1_800_000_050, 7)), heldEpoch));
    // never closed: like a consumer that crashed, it still holds the stream
  }

  @AfterAll
  void shutdown() {
    client.close();
    mongo.close();
  }

  record Outcome(int exitCode, String out, String err) {}

  private Outcome run(String... args) {
    String[] full = new String[args.length + 2];
    System.arraycopy(args, 0, full, 0, args.length);
    full[args.length] = "--mongodb";
    full[args.length + 1] = mongo.uri();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(full, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Outcome(code, out.toString(), err.toString());
  }

  @Test
  void listShowAndHistoryReadTheMongoStore() {
    Outcome listed = run("checkpoints", "list");
    assertThat(listed.exitCode()).as(listed.err()).isZero();
    String[] lines = listed.out().strip().split("\n");
    assertThat(lines).hasSize(3);
    assertThat(lines[1]).startsWith("held ").contains("event", "Timestamp(1800000050, 7)", "epoch " + heldEpoch, "resumeAfter");
    assertThat(lines[2]).startsWith("orders ").contains("gap", "Timestamp(1800000100, 0)", "startAtOperationTime");

    Outcome shown = run("checkpoints", "show", "orders");
    assertThat(shown.exitCode()).as(shown.err()).isZero();
    assertThat(shown.out())
        .contains("checkpoint:    startAtOperationTime Timestamp(1800000100, 0)")
        .contains("note:          history lost at resumeAfter ...: restart-from-now")
        .contains("held by:       nobody");

    Outcome history = run("checkpoints", "history", "orders");
    assertThat(history.exitCode()).isZero();
    String[] entries = history.out().strip().split("\n");
    assertThat(entries).hasSize(5);
    assertThat(entries[1]).contains("event", "Timestamp(1800000001, 1)");
    assertThat(entries[4]).contains("gap", "restart-from-now");
  }

  @Test
  void anUnknownStreamNamesTheKnownOnes() {
    Outcome outcome = run("checkpoints", "show", "nosuch");
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err().strip())
        .isEqualTo("error: unknown stream 'nosuch': tidemark.tidemark_checkpoints has these: held, orders");
  }

  @Test
  void aHeldStreamIsRefusedUnlessForcedAndForcingFencesTheConsumerOut() throws Exception {
    Outcome refused = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes");
    assertThat(refused.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(refused.err().strip()).startsWith("error: refused: the consumer with epoch " + heldEpoch + " holds the stream (since ")
        .endsWith("then pass --force, which fences it out");

    Outcome forced = run("checkpoints", "rewind", "held", "--to-time", "1800000000", "--yes", "--force");
    assertThat(forced.exitCode()).as(forced.err()).isZero();
    assertThat(forced.out()).contains("rewound 'held' to startAtOperationTime Timestamp(1800000000, 0)");
    assertThat(run("checkpoints", "show", "held").out()).contains("held by:       nobody").contains("kind:          rewind");

    Checkpoint late = Checkpoint.atToken("held", token(1_800_000_060, 1), new BsonTimestamp(1_800_000_060, 1));
    Throwable fenced = Errors.unwrap(held.save(late, heldEpoch).toCompletableFuture().handle((done, error) -> error).get(30, TimeUnit.SECONDS));
    assertThat(fenced).isInstanceOf(FencedException.class).hasMessageContaining("another consumer has taken the stream");
    assertThat(await(held.load()).orElseThrow().clusterTime()).isEqualTo(new BsonTimestamp(1_800_000_000, 0));

    Outcome reset = run("checkpoints", "reset", "held", "--yes");
    assertThat(reset.exitCode()).as(reset.err()).isZero();
    assertThat(run("checkpoints", "show", "held").out()).contains("checkpoint:    none");
    assertThat(run("checkpoints", "history", "held").out()).contains("rewound by hand").contains("reset by hand");
  }

  @Test
  void twoStoresAtOnceAreRefused() {
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"checkpoints", "list", "--mongodb", mongo.uri(), "--checkpoints", "jdbc:h2:mem:x"},
        new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    assertThat(code).isEqualTo(Main.BAD_INPUT);
    assertThat(err.toString()).contains("--checkpoints, --sql JDBC_URL, --mongodb and --redis each name a store: give one");
  }
}
