package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark checkpoints ...} against an H2 checkpoint database written by the checkpoint store
 * itself: the {@link CheckpointsCommandScenarios} on its two streams, "orders" (stopped, released) and
 * "held" (its consumer never let go), then rewind and reset on a copy, a snapshot's history, export
 * and import, an unreachable database.
 */
class CheckpointsCommandIT extends CheckpointsCommandScenarios {
  private Path dir;
  private Path file;
  private String url;

  @BeforeAll
  void writeCheckpoints(@TempDir Path temp) throws Exception {
    dir = temp;
    file = dir.resolve("checkpoints");
    url = "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    ActorTestKit kit = ActorTestKit.create("checkpoints-cli-setup", TestConfigs.h2FileJournal(file.toString()));
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      writeTheCheckpoints(store);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Override
  protected String[] storeFlags() {
    return new String[] {"--checkpoints", url};
  }

  @Override
  protected String storeNamedInErrors() {
    return "the checkpoint database";
  }

  @Override
  protected String[] anotherStoresFlags() {
    return new String[] {"--mongodb", "mongodb://127.0.0.1:1"};
  }

  /** The consumer's actor system is gone: a new one, on the same database, saves as epoch 1 and recovers the forced rewind's epoch 2. */
  @Override
  protected LateSave saveAsTheHeldConsumer(Checkpoint late) throws Exception {
    ActorTestKit kit = ActorTestKit.create("checkpoints-cli-fenced", TestConfigs.h2FileJournal(file.toString()));
    try {
      return saveLate(await(JdbcCheckpointStore.create(kit.system()).open("held")), 1, late);
    } finally {
      kit.shutdownTestKit();
    }
  }

  @Override
  protected String fencedOutMessage() {
    return "epoch 1 is older than the stream's epoch 2";
  }

  private static Outcome runOn(String database, String... args) {
    String[] full = new String[args.length + 2];
    System.arraycopy(args, 0, full, 0, args.length);
    full[args.length] = "--checkpoints";
    full[args.length + 1] = database;
    return execute(full);
  }

  @Test
  @Order(1)
  void rewindAndResetMoveTheCheckpointUnderANewEpoch() throws Exception {
    Path file = copyOfTheDatabase("rewind");
    String copy = "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    Outcome toTime = runOn(copy, "checkpoints", "rewind", "orders", "--to-time", "2027-01-15T08:00:00Z", "--yes");
    assertThat(toTime.exitCode()).as(toTime.err()).isZero();
    assertThat(toTime.out().strip()).isEqualTo("rewound 'orders' to startAtOperationTime Timestamp(1800000000, 0)"
        + " (was startAtOperationTime Timestamp(1800000100, 0)); epoch 2: the next consumer starts there");
    Outcome toToken = runOn(copy, "checkpoints", "rewind", "orders", "--to-token", "826b0000010000000a", "--yes");
    assertThat(toToken.exitCode()).isZero();
    assertThat(runOn(copy, "checkpoints", "show", "orders").out())
        .contains("checkpoint:    resumeAfter {\"_data\": \"826b0000010000000a\"}")
        .contains("kind:          rewind")
        .contains("epoch:         3");

    Outcome reset = runOn(copy, "checkpoints", "reset", "orders", "--yes");
    assertThat(reset.exitCode()).isZero();
    assertThat(runOn(copy, "checkpoints", "show", "orders").out()).contains("checkpoint:    none (the next run starts at its configured position, or now)");
    String history = runOn(copy, "checkpoints", "history", "orders").out();
    assertThat(history).contains("rewound by hand").contains("reset by hand");
    assertThat(history.strip().split("\n")[history.strip().split("\n").length - 1]).contains("reset", "none");
  }

  @Test
  void historyShowsASnapshotsProgressAndImportRefusesToDropIt() throws Exception {
    Path file = dir.resolve("snapshots");
    String snapshotsUrl = "jdbc:h2:file:" + file + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    BsonTimestamp at = new BsonTimestamp(1_800_000_200, 3);
    ActorTestKit kit = ActorTestKit.create("checkpoints-cli-snapshots", TestConfigs.h2FileJournal(file.toString()));
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      StreamCheckpoints copying = await(store.open("copying"));
      long epoch = await(copying.acquire()).epoch();
      await(copying.save(Checkpoint.snapshot("copying", at, null, "snapshot started (snapshot-then-stream): copying shop.orders"), epoch));
      await(copying.save(Checkpoint.snapshot("copying", at, new org.bson.BsonInt32(999), null), epoch));
      await(copying.save(Checkpoint.snapshot("copying", at, new org.bson.BsonInt32(1999), null), epoch));
      await(copying.close());
    } finally {
      kit.shutdownTestKit();
    }

    Outcome history = runOn(snapshotsUrl, "checkpoints", "history", "copying");
    assertThat(history.exitCode()).as(history.err()).isZero();
    String[] lines = history.out().strip().split("\n");
    assertThat(lines).hasSize(4);
    assertThat(lines[1]).contains("snapshot", "snapshot from the first _id, then startAtOperationTime Timestamp(1800000200, 3)",
        "snapshot started");
    assertThat(lines[3]).contains("snapshot", "snapshot after _id {\"_id\": 1999}");
    assertThat(runOn(snapshotsUrl, "checkpoints", "show", "copying").out())
        .contains("checkpoint:    snapshot after _id {\"_id\": 1999}, then startAtOperationTime Timestamp(1800000200, 3)")
        .contains("kind:          snapshot");

    Path exported = dir.resolve("snapshots.json");
    assertThat(runOn(snapshotsUrl, "checkpoints", "export", "--out", exported.toString()).exitCode()).isZero();
    assertThat(Files.readString(exported)).contains("\"kind\" : \"snapshot\"", "\"snapshot\" : {", "\"$numberInt\" : \"1999\""); // its BSON type kept
    Outcome imported = runOn(snapshotsUrl, "checkpoints", "import", exported.toString(), "--yes");
    assertThat(imported.exitCode()).isNotZero();
    assertThat(imported.err()).contains("streams[0] (copying): exported in the middle of a snapshot");
  }

  @Test
  @Order(1)
  void exportThenImportCarriesTheCheckpointsToAnotherDatabase() throws Exception {
    Path exported = dir.resolve("checkpoints.json");
    Outcome export = run("checkpoints", "export", "--out", exported.toString());
    assertThat(export.exitCode()).as(export.err()).isZero();
    assertThat(export.out().strip()).isEqualTo("exported 2 checkpoints to " + exported);
    String json = Files.readString(exported);
    assertThat(json).contains("\"stream\" : \"orders\"", "\"stream\" : \"held\"", "\"t\" : 1800000100", "\"kind\" : \"gap\"");

    Path other = dir.resolve("other");
    String otherUrl = "jdbc:h2:file:" + other + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0";
    ActorTestKit kit = ActorTestKit.create("checkpoints-cli-other", TestConfigs.h2FileJournal(other.toString()));
    try {
      await(JdbcCheckpointStore.create(kit.system()).ready());
    } finally {
      kit.shutdownTestKit();
    }
    Outcome imported = runOn(otherUrl, "checkpoints", "import", exported.toString(), "--yes");
    assertThat(imported.exitCode()).as(imported.err()).isZero();
    assertThat(imported.out()).contains("imported 'orders': startAtOperationTime Timestamp(1800000100, 0)")
        .contains("imported 'held': resumeAfter {\"_data\": \"826b49d23200000007\"}")
        .contains("imported 2 checkpoints from " + exported);
    assertThat(runOn(otherUrl, "checkpoints", "list").out()).contains("orders").contains("held");

    Path broken = dir.resolve("broken.json");
    Files.writeString(broken, "{\"streams\": [{\"stream\": \"x\", \"token\": {\"nope\": 1}}]}");
    Outcome bad = runOn(otherUrl, "checkpoints", "import", broken.toString(), "--yes");
    assertThat(bad.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(bad.err()).contains("streams[0] (x): token has no _data string");
    Outcome notJson = runOn(otherUrl, "checkpoints", "import", dir.resolve("missing.json").toString(), "--yes");
    assertThat(notJson.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(notJson.err()).contains("no such file");
  }

  @Test
  void anUnreachableDatabaseIsNamedWithoutItsPassword() {
    Outcome outcome = runOn("jdbc:postgresql://127.0.0.1:1/tidemark?password=hunter2", "checkpoints", "list");
    assertThat(outcome.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.err()).startsWith("error: cannot reach the checkpoint database jdbc:postgresql://127.0.0.1:1/tidemark?password=***")
        .doesNotContain("hunter2");
    Outcome noDatabase = runOn("jdbc:h2:file:" + dir.resolve("nothing-here"), "checkpoints", "list");
    assertThat(noDatabase.exitCode()).isEqualTo(Main.BAD_INPUT);
    assertThat(noDatabase.err()).contains("not found").contains("(no database there: check --checkpoints or --data)");
    Outcome missing = run("checkpoints");
    assertThat(missing.exitCode()).isEqualTo(Main.USAGE);
  }

  /** The setup's database, copied, so that a test that writes leaves the others' as it was. */
  private Path copyOfTheDatabase(String name) throws Exception {
    Path target = dir.resolve(name);
    Outcome export = run("checkpoints", "export", "--out", dir.resolve(name + ".json").toString());
    assertThat(export.exitCode()).isZero();
    ActorTestKit kit = ActorTestKit.create("checkpoints-cli-" + name, TestConfigs.h2FileJournal(target.toString()));
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      for (String stream : new String[] {"orders", "held"}) {
        StreamCheckpoints record = await(store.open(stream));
        long epoch = await(record.acquire()).epoch();
        Checkpoint original = stream.equals("orders")
            ? Checkpoint.atOperationTime("orders", new BsonTimestamp(1_800_000_100, 0)).as(CheckpointKind.GAP, "copied")
            : Checkpoint.atToken("held", token(1_800_000_050, 7), new BsonTimestamp(1_800_000_050, 7));
        await(record.save(new Checkpoint(stream, original.resumeToken(), original.clusterTime(), Instant.now(), 0,
            original.kind(), original.note()), epoch));
        if (stream.equals("orders")) await(record.close()); // "held" keeps its holder
      }
    } finally {
      kit.shutdownTestKit();
    }
    return target;
  }
}
