package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.pattern.StatusReply;
import akka.persistence.testkit.javadsl.EventSourcedBehaviorTestKit;
import com.typesafe.config.ConfigFactory;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The checkpoint entity with its journal in memory; the test kit also checks that every command, event and state serializes. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CheckpointEntityTest {
  private final ActorTestKit testKit =
      ActorTestKit.create(EventSourcedBehaviorTestKit.config().withFallback(ConfigFactory.load()));
  private final JdbcCheckpointSettings settings =
      JdbcCheckpointSettings.create(
          ConfigFactory.parseString("tidemark.checkpoint.jdbc.snapshot-every = 3\ntidemark.checkpoint.jdbc.history-size = 4")
              .withFallback(testKit.system().settings().config()));
  private final EventSourcedBehaviorTestKit<CheckpointEntity.Command, CheckpointEntity.Event, CheckpointEntity.State> entity =
      EventSourcedBehaviorTestKit.create(testKit.system(), CheckpointEntity.create("orders", settings));

  @BeforeEach
  void clear() {
    entity.clear();
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  @Test
  void startsEmpty() {
    var result = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new);
    assertThat(result.reply().isEmpty()).isTrue();
    assertThat(result.hasNoEvents()).isTrue();
  }

  @Test
  void savesTheTokenAndAcknowledgesOnceDurable() {
    var result = entity.<StatusReply<Done>>runCommand(
        replyTo -> new CheckpointEntity.Save("{\"_data\": \"826b\"}", 42L, 1_000L, 0L, replyTo));
    assertThat(result.reply().isSuccess()).isTrue();
    CheckpointEntity.TokenSaved saved = result.eventOfType(CheckpointEntity.TokenSaved.class);
    assertThat(saved.tokenJson).isEqualTo("{\"_data\": \"826b\"}");
    assertThat(saved.clusterTime).isEqualTo(42L);
    assertThat(result.state().tokenJson).isEqualTo("{\"_data\": \"826b\"}");
    assertThat(result.state().saves).isEqualTo(1);
  }

  @Test
  void keepsTheNewestCheckpointAcrossRestartsAndSnapshots() {
    for (int i = 1; i <= 7; i++) {
      String token = "{\"_data\": \"" + i + "\"}";
      long time = i;
      entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(token, time, time, 0L, replyTo));
    }
    var restarted = entity.restart();
    assertThat(restarted.state().tokenJson).isEqualTo("{\"_data\": \"7\"}");
    assertThat(restarted.state().clusterTime).isEqualTo(7L);
    assertThat(restarted.state().saves).isEqualTo(7);
  }

  @Test
  void eachAcquireTakesTheNextEpochAndOlderEpochsAreRefused() {
    var first = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Acquire::new);
    assertThat(first.reply().epoch).isEqualTo(1);
    assertThat(first.eventOfType(CheckpointEntity.EpochTaken.class).epoch).isEqualTo(1);
    entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save("{\"_data\": \"1\"}", 10L, 1L, 1L, replyTo));
    var second = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Acquire::new);
    assertThat(second.reply().epoch).isEqualTo(2);
    assertThat(second.reply().writerEpoch).isEqualTo(1);

    var stale = entity.<StatusReply<Done>>runCommand(
        replyTo -> new CheckpointEntity.Save("{\"_data\": \"2\"}", 20L, 2L, 1L, replyTo));
    assertThat(stale.reply().isError()).isTrue();
    assertThat(stale.reply().getError().getMessage()).startsWith("checkpoint refused: epoch 1 is older than the stream's epoch 2");
    assertThat(stale.hasNoEvents()).isTrue();
    assertThat(stale.state().tokenJson).isEqualTo("{\"_data\": \"1\"}");
  }

  @Test
  void aSaveThatWouldMoveTheCheckpointBackwardsIsRefused() {
    entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Acquire::new);
    entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save("{\"_data\": \"b\"}", 20L, 1L, 1L, replyTo));
    var backwards = entity.<StatusReply<Done>>runCommand(
        replyTo -> new CheckpointEntity.Save("{\"_data\": \"a\"}", 10L, 2L, 1L, replyTo));
    assertThat(backwards.reply().getError().getMessage()).contains("would move the checkpoint backwards");
    assertThat(backwards.state().clusterTime).isEqualTo(20L);
  }

  @Test
  void aCheckpointAtAnOperationTimeHasNoToken() {
    entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(null, 99L, 5L, 0L, replyTo));
    var state = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new).reply();
    var checkpoint = JdbcCheckpointStore.decode("orders", state).orElseThrow();
    assertThat(checkpoint.resumeToken()).isNull();
    assertThat(checkpoint.position().describe()).startsWith("startAtOperationTime");
  }

  @Test
  void theHistoryKeepsGapsApartFromRoutineCheckpoints() {
    entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(
        "{\"_data\": \"01\"}", 1L, 1L, 1L, "gap", "history lost at resumeAfter 00: restart-from-now", replyTo));
    for (int i = 2; i <= 20; i++) {
      long time = i;
      entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(
          "{\"_data\": \"" + time + "\"}", time, time, 1L, time % 2 == 0 ? "event" : "heartbeat", null, replyTo));
    }
    entity.restart();
    var history = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new).reply().history;
    assertThat(history).extracting(entry -> entry.kind).containsExactly("gap", "heartbeat", "event", "heartbeat", "event");
    assertThat(history.get(0).note).isEqualTo("history lost at resumeAfter 00: restart-from-now");
    assertThat(history).extracting(entry -> entry.clusterTime).containsExactly(1L, 17L, 18L, 19L, 20L);
  }
  @Test
  void keepsSnapshotProgressAcrossRestartsWithTheIdsBsonType() {
    Checkpoint progress = Checkpoint.snapshot("orders", new org.bson.BsonTimestamp(7, 1), new org.bson.BsonInt64(41), null);
    for (long after = 40; after <= 42; after++) {
      String json = Checkpoint.snapshot("orders", new org.bson.BsonTimestamp(7, 1), new org.bson.BsonInt64(after), null).snapshotJson();
      entity.<StatusReply<Done>>runCommand(replyTo -> new CheckpointEntity.Save(
          null, progress.clusterTime().getValue(), 1L, 1L, "snapshot", null, json, replyTo));
    }
    entity.restart();
    var state = entity.<CheckpointEntity.State>runCommand(CheckpointEntity.Get::new).reply();
    Checkpoint stored = JdbcCheckpointStore.decode("orders", state).orElseThrow();
    assertThat(stored.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(stored.position()).isEqualTo(
        io.tidemark.source.ResumePosition.snapshot(new org.bson.BsonTimestamp(7, 1), new org.bson.BsonInt64(42)));
    assertThat(JdbcCheckpointStore.decodeHistory("orders", state))
        .extracting(c -> c.snapshot().get("_id"))
        .containsExactly(new org.bson.BsonInt64(40), new org.bson.BsonInt64(41), new org.bson.BsonInt64(42));
  }

  @Test
  void readsEventsAndSnapshotsWrittenBeforeSnapshotProgressExisted() throws Exception {
    var mapper = akka.serialization.jackson.JacksonObjectMapperProvider.get(testKit.system())
        .getOrCreate("jackson-cbor", java.util.Optional.empty());
    java.util.Map<String, Object> saved = new java.util.LinkedHashMap<>();
    saved.put("tokenJson", "{\"_data\": \"826b\"}");
    saved.put("clusterTime", 42L);
    saved.put("savedAtMillis", 1_000L);
    saved.put("epoch", 3L);
    saved.put("kind", "event");
    saved.put("note", null);
    CheckpointEntity.TokenSaved old = mapper.readValue(mapper.writeValueAsBytes(saved), CheckpointEntity.TokenSaved.class);
    assertThat(old.tokenJson).isEqualTo("{\"_data\": \"826b\"}");
    assertThat(old.snapshotJson).isNull();

    java.util.Map<String, Object> entry = new java.util.LinkedHashMap<>(saved); // a history entry has the same fields
    java.util.Map<String, Object> state = new java.util.LinkedHashMap<>();
    state.put("tokenJson", "{\"_data\": \"826b\"}");
    state.put("clusterTime", 42L);
    state.put("savedAtMillis", 1_000L);
    state.put("saves", 1L);
    state.put("epoch", 3L);
    state.put("writerEpoch", 3L);
    state.put("kind", "event");
    state.put("note", null);
    state.put("history", java.util.List.of(entry));
    state.put("holder", 0L);
    state.put("heldSinceMillis", 0L);
    CheckpointEntity.State oldState = mapper.readValue(mapper.writeValueAsBytes(state), CheckpointEntity.State.class);
    assertThat(oldState.snapshotJson).isNull();
    assertThat(oldState.history).singleElement().satisfies(e -> assertThat(e.snapshotJson).isNull());
    Checkpoint decoded = JdbcCheckpointStore.decode("orders", oldState).orElseThrow();
    assertThat(decoded.inSnapshot()).isFalse();
    assertThat(decoded.position().describe()).startsWith("resumeAfter");
  }

  /**
   * A save adds its entry to the history in one pass: the same entries, in the same order, as the
   * two prunes it replaced (the newest {@code size} routine entries and, apart, the newest
   * {@code size} notable ones), over 2,000 random histories, sizes and kinds (the size also smaller
   * than a history kept before, as when history-size is lowered).
   */
  @Test
  void theHistoryKeepsTheNewestOfEachSortAsThePruneItReplacedDid() {
    String[] kinds = {"event", "heartbeat", "snapshot", "start", "gap", "invalidate", "rewind", "reset", "signal", null, "EVENT"};
    java.util.Random random = new java.util.Random(20);
    for (int world = 0; world < 2_000; world++) {
      int size = 1 + random.nextInt(6);
      java.util.List<CheckpointEntity.HistoryEntry> history = new java.util.ArrayList<>();
      for (int i = random.nextInt(16); i > 0; i--) history.add(entry(kinds[random.nextInt(kinds.length)], history.size()));
      CheckpointEntity.HistoryEntry added = entry(kinds[random.nextInt(kinds.length)], history.size());

      java.util.List<CheckpointEntity.HistoryEntry> expected = new java.util.ArrayList<>(history);
      expected.add(added);
      prunedAsBefore(expected, true, size);
      prunedAsBefore(expected, false, size);

      assertThat(CheckpointEntity.State.appended(history, added, size)).as("world %d, size %d, history %s", world, size, history)
          .containsExactlyElementsOf(expected);
    }
  }

  private static CheckpointEntity.HistoryEntry entry(String kind, long n) {
    return new CheckpointEntity.HistoryEntry(kind, "{\"_data\": \"" + n + "\"}", n, 1L, n, null);
  }

  /** The prune a save made before (twice per save: routine, then notable), as it was. */
  private static void prunedAsBefore(java.util.List<CheckpointEntity.HistoryEntry> entries, boolean routine, int size) {
    long count = entries.stream().filter(entry -> routineAsBefore(entry) == routine).count();
    for (var it = entries.iterator(); it.hasNext() && count > size; ) {
      if (routineAsBefore(it.next()) == routine) {
        it.remove();
        count--;
      }
    }
  }

  private static boolean routineAsBefore(CheckpointEntity.HistoryEntry entry) {
    CheckpointKind kind = CheckpointKind.parse(entry.kind);
    return kind == CheckpointKind.EVENT || kind == CheckpointKind.HEARTBEAT || kind == CheckpointKind.SNAPSHOT;
  }
}
