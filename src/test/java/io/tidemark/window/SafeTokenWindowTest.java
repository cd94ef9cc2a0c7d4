package io.tidemark.window;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.ClosedShape;
import akka.stream.Materializer;
import akka.stream.javadsl.GraphDSL;
import akka.stream.javadsl.RunnableGraph;
import akka.stream.javadsl.Source;
import akka.stream.testkit.TestPublisher;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.StreamTestKit;
import akka.stream.testkit.javadsl.TestSink;
import akka.stream.testkit.javadsl.TestSource;
import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.source.ResumePosition;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.StreamElement;
import io.tidemark.source.Envelopes;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SafeTokenWindowTest {
  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());
  private static final Duration LONG = Duration.ofHours(1);

  @AfterEach
  void allStagesStopped() {
    StreamTestKit.assertAllStagesStopped(materializer);
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /** The four ends of the window, each held by a probe. */
  private record Probes(
      Object eventsMaterialized,
      TestSubscriber.Probe<ChangeEnvelope> stages,
      TestPublisher.Probe<Completion> completions,
      TestSubscriber.Probe<Checkpoint> saved) {
    @SuppressWarnings("unchecked")
    TestPublisher.Probe<StreamElement> events() {
      return (TestPublisher.Probe<StreamElement>) eventsMaterialized;
    }

    /** The source ends, the stages finish, and so does the window: each side completes in turn. */
    void endNormally() {
      events().sendComplete();
      stages.expectComplete();
      completions.sendComplete();
      saved.expectComplete();
    }
  }

  private Probes run(WindowSettings settings, Function<Checkpoint, CompletionStage<Done>> save) {
    return run(settings, save, TestSource.<StreamElement>probe(testKit.system().classicSystem()));
  }

  private <M> Probes run(
      WindowSettings settings, Function<Checkpoint, CompletionStage<Done>> save, Source<StreamElement, M> events) {
    return run(settings, save, events, new WindowStats());
  }

  private <M> Probes run(
      WindowSettings settings, Function<Checkpoint, CompletionStage<Done>> save, Source<StreamElement, M> events, WindowStats stats) {
    return RunnableGraph.fromGraph(
            GraphDSL.create4(
                events,
                TestSink.<ChangeEnvelope>probe(testKit.system().classicSystem()),
                TestSource.<Completion>probe(testKit.system().classicSystem()),
                TestSink.<Checkpoint>probe(testKit.system().classicSystem()),
                (M eventsMat, TestSubscriber.Probe<ChangeEnvelope> stages, TestPublisher.Probe<Completion> completions, TestSubscriber.Probe<Checkpoint> saved) ->
                    new Probes(eventsMat, stages, completions, saved),
                (builder, in, stages, completions, saved) -> {
                  var window = builder.add(SafeTokenWindow.create("test", settings, save, stats));
                  builder.from(in).toInlet(window.in1());
                  builder.from(window.out1()).to(stages);
                  builder.from(completions).toInlet(window.in2());
                  builder.from(window.out2()).to(saved);
                  return ClosedShape.getInstance();
                }))
        .run(materializer);
  }

  private static Function<Checkpoint, CompletionStage<Done>> recording(List<Checkpoint> saves) {
    return checkpoint -> {
      saves.add(checkpoint);
      return CompletableFuture.completedFuture(Done.getInstance());
    };
  }

  private static <T> List<T> next(TestSubscriber.Probe<T> probe, int n) {
    List<T> elements = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) elements.add(probe.expectNext());
    return elements;
  }

  private static <T> T within(TestSubscriber.Probe<T> probe, Duration timeout) {
    return probe.expectNext(scala.concurrent.duration.FiniteDuration.fromNanos(timeout.toNanos()));
  }

  private static List<StreamElement> envelopes(long from, long to) {
    return LongStream.rangeClosed(from, to).<StreamElement>mapToObj(Envelopes::insert).collect(Collectors.toList());
  }

  private static Checkpoint at(long seqNr) {
    ChangeEnvelope envelope = Envelopes.insert(seqNr);
    return Checkpoint.atToken("test", envelope.resumeToken(), envelope.clusterTime());
  }

  @Test
  void checkpointsOnlyTheNewestEventBeforeWhichEverythingCompleted() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 1, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(5);
    envelopes(1, 5).forEach(probes.events()::sendNext);
    next(probes.stages, 5);

    probes.completions.sendNext(Completion.done(3)).sendNext(Completion.done(2));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    assertThat(saves).isEmpty();

    probes.completions.sendNext(Completion.done(1));
    assertThat(probes.saved.expectNext()).isEqualTo(at(3));

    probes.completions.sendNext(Completion.done(5));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.completions.sendNext(Completion.done(4));
    assertThat(probes.saved.expectNext()).isEqualTo(at(5));
    assertThat(saves).containsExactly(at(3), at(5));

    probes.endNormally();
  }

  /**
   * Batches that copy workers copied on other nodes (issue 16) reach no stage: each is done once
   * admitted, a checkpoint there keeps its snapshot position, and its documents count towards the
   * throttle as events would (every 100 here): two batches of 60 make a save due, one does not.
   */
  @Test
  void batchesCopiedElsewhereAreDoneAtOnceAndCountTheirDocumentsTowardsTheThrottle() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 100, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    org.bson.BsonTimestamp at = new org.bson.BsonTimestamp(1_700_000_000, 1);
    probes.events().sendNext(new StreamElement.CopiedBatch(1, new ResumePosition.Snapshot(at, null, new org.bson.BsonInt32(59)), "db.c", 60));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.stages.expectNoMessage(Duration.ZERO);
    probes.events().sendNext(new StreamElement.CopiedBatch(2, new ResumePosition.Snapshot(at, null, new org.bson.BsonInt32(119)), "db.c", 60));
    Checkpoint saved = probes.saved.expectNext();
    assertThat(saved.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(saved.snapshot()).isEqualTo(new org.bson.BsonDocument("_id", new org.bson.BsonInt32(119)));
    assertThat(saves).containsExactly(saved);
    probes.stages.expectNoMessage(Duration.ZERO);
    probes.endNormally();
  }

  @Test
  void handsAtMostWindowSizeEventsToTheStages() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(3, 100, LONG), recording(saves), Source.from(envelopes(1, 10)));
    probes.stages.request(10);
    assertThat(next(probes.stages, 3)).extracting(ChangeEnvelope::seqNr).containsExactly(1L, 2L, 3L);
    probes.stages.expectNoMessage(Duration.ofMillis(300));

    probes.completions.sendNext(Completion.done(2));
    probes.stages.expectNoMessage(Duration.ofMillis(300)); // #1 still pending: nothing left the window
    probes.completions.sendNext(Completion.done(1));
    assertThat(next(probes.stages, 2)).extracting(ChangeEnvelope::seqNr).containsExactly(4L, 5L);
    probes.stages.expectNoMessage(Duration.ofMillis(200));

    LongStream.rangeClosed(3, 10).forEach(seqNr -> {
      probes.completions.sendNext(Completion.done(seqNr));
      if (seqNr <= 7) probes.stages.expectNext();
    });
    probes.stages.expectComplete();
    probes.completions.sendComplete();
    probes.saved.request(1);
    assertThat(probes.saved.expectNext()).isEqualTo(at(10));
    probes.saved.expectComplete();
  }

  @Test
  void admitsAtMostWindowPlusThrottlePastTheLastDurableCheckpoint() {
    List<CompletableFuture<Done>> pending = new CopyOnWriteArrayList<>();
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Function<Checkpoint, CompletionStage<Done>> heldSaves = checkpoint -> {
      saves.add(checkpoint);
      CompletableFuture<Done> save = new CompletableFuture<>();
      pending.add(save);
      return save;
    };
    Probes probes = run(WindowSettings.of(5, 5, LONG), heldSaves, Source.from(envelopes(1, 100)));
    probes.stages.request(100);
    for (long seqNr = 1; seqNr <= 10; seqNr++) {
      assertThat(probes.stages.expectNext().seqNr()).isEqualTo(seqNr);
      probes.completions.sendNext(Completion.done(seqNr));
    }
    // Every event is done, but the first save (at #5) is not durable: 10 = N + K is the limit.
    probes.stages.expectNoMessage(Duration.ofMillis(300));
    assertThat(saves).containsExactly(at(5));

    pending.get(0).complete(Done.getInstance());
    for (long seqNr = 11; seqNr <= 15; seqNr++) {
      assertThat(probes.stages.expectNext().seqNr()).isEqualTo(seqNr);
      probes.completions.sendNext(Completion.done(seqNr));
    }
    // Now #10 is being saved and #5 is durable: again at most N + K past it.
    probes.stages.expectNoMessage(Duration.ofMillis(300));
    assertThat(saves).containsExactly(at(5), at(10));

    probes.stages.cancel();
    probes.completions.sendComplete();
    probes.saved.cancel();
    pending.get(1).complete(Done.getInstance());
    io.tidemark.Await.until(Duration.ofSeconds(5), () -> saves.size() == 3, () -> "the final save at #15");
    assertThat(saves.get(2)).isEqualTo(at(15));
    pending.get(2).complete(Done.getInstance());
  }

  @Test
  void savesEveryKEventsOrAfterTheIntervalWhicheverComesFirst() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 10, Duration.ofMillis(300)), recording(saves));
    probes.saved.request(10);
    probes.stages.request(25);
    envelopes(1, 25).forEach(probes.events()::sendNext);
    next(probes.stages, 25);
    LongStream.rangeClosed(1, 25).forEach(seqNr -> probes.completions.sendNext(Completion.done(seqNr)));
    assertThat(probes.saved.expectNext()).isEqualTo(at(10));
    assertThat(probes.saved.expectNext()).isEqualTo(at(20));
    // #21..#25 are fewer than K: they are saved when the interval has passed.
    assertThat(within(probes.saved, Duration.ofSeconds(3))).isEqualTo(at(25));
    assertThat(saves).containsExactly(at(10), at(20), at(25));
    probes.endNormally();
  }

  @Test
  void aGapIsSavedAsItselfOnceEverythingBeforeItIsDoneAndNeverReachesTheStages() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 50, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    envelopes(1, 2).forEach(probes.events()::sendNext);
    ResumePosition restart = ResumePosition.startAtOperationTime(new org.bson.BsonTimestamp(1_800_000_000, 1));
    probes.events().sendNext(new StreamElement.Gap(3, restart, "history lost: restart-from-now"));
    probes.events().sendNext(Envelopes.event(4, 1_000_000_000_000L, "key-4"));
    assertThat(next(probes.stages, 3)).extracting(ChangeEnvelope::seqNr).containsExactly(1L, 2L, 4L);

    probes.completions.sendNext(Completion.done(2)).sendNext(Completion.done(4));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.completions.sendNext(Completion.done(1));
    // Everything is done now; though #4 is safe too and K is far, the event just before the gap is saved, then the gap
    // itself with its note: the history shows where the gap begins.
    assertThat(probes.saved.expectNext()).isEqualTo(at(2));
    Checkpoint gap = probes.saved.expectNext();
    assertThat(gap.kind()).isEqualTo(CheckpointKind.GAP);
    assertThat(gap.note()).isEqualTo("history lost: restart-from-now");
    assertThat(gap.resumeToken()).isNull();
    assertThat(gap.position()).isEqualTo(restart);
    probes.events().sendComplete();
    probes.completions.sendComplete();
    assertThat(probes.saved.expectNext().kind()).isEqualTo(CheckpointKind.EVENT);
    assertThat(saves).hasSize(3);
  }

  /**
   * A note (what an incremental snapshot request did) is saved as itself, a checkpoint of kind
   * signal at the token of the event before it, once everything before it is done; it never reaches
   * the stages, and the stream goes on past it.
   */
  @Test
  void aNoteIsSavedAsASignalCheckpointAtTheTokenBeforeItAndNeverReachesTheStages() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 50, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    envelopes(1, 2).forEach(probes.events()::sendNext);
    ChangeEnvelope second = Envelopes.insert(2);
    probes.events().sendNext(new StreamElement.Note(3, second.resumeToken(), second.clusterTime(), "incremental snapshot 1 of test.c: started"));
    probes.events().sendNext(Envelopes.insert(4));
    assertThat(next(probes.stages, 3)).extracting(ChangeEnvelope::seqNr).containsExactly(1L, 2L, 4L);

    probes.completions.sendNext(Completion.done(2)).sendNext(Completion.done(4));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.completions.sendNext(Completion.done(1));
    // Due at once, though K is far: the note, at #2's position.
    Checkpoint note = probes.saved.expectNext();
    assertThat(note.kind()).isEqualTo(CheckpointKind.SIGNAL);
    assertThat(note.note()).isEqualTo("incremental snapshot 1 of test.c: started");
    assertThat(note.position()).isEqualTo(at(2).position());
    assertThat(note.clusterTime()).isEqualTo(second.clusterTime());
    probes.events().sendComplete();
    probes.completions.sendComplete();
    assertThat(probes.saved.expectNext()).isEqualTo(at(4));
    assertThat(saves).hasSize(2);
  }

  @Test
  void aCopiedDocumentsCheckpointHoldsItsIdAndTheEndOfTheCopyIsSavedAsItself() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 50, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    org.bson.BsonTimestamp at = new org.bson.BsonTimestamp(1_800_000_000, 7);
    com.mongodb.MongoNamespace ns = new com.mongodb.MongoNamespace("test", "c");
    for (int id = 1; id <= 3; id++) {
      probes.events().sendNext(ChangeEnvelope.snapshot(id, ns, at, new org.bson.Document("_id", id).append("n", id)));
    }
    probes.events().sendNext(new StreamElement.SnapshotEnd(4, at, "snapshot complete: 3 documents"));
    assertThat(next(probes.stages, 3)).allMatch(ChangeEnvelope::isSnapshot).extracting(ChangeEnvelope::resumeToken).containsOnlyNulls();

    probes.completions.sendNext(Completion.done(1)).sendNext(Completion.done(3));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.completions.sendNext(Completion.done(2));
    // The end of the copy is saved as itself, with its note, as soon as every copied document before it is done.
    Checkpoint complete = probes.saved.expectNext();
    assertThat(complete.kind()).isEqualTo(CheckpointKind.START);
    assertThat(complete.note()).isEqualTo("snapshot complete: 3 documents");
    assertThat(complete.position()).isEqualTo(ResumePosition.startAtOperationTime(at));
    probes.events().sendComplete();
    probes.completions.sendComplete();
    assertThat(saves).hasSize(1);

    // During the copy (K = 2): the checkpoint is the copy's progress at the last document before which all are done.
    List<Checkpoint> during = new CopyOnWriteArrayList<>();
    Probes again = run(WindowSettings.of(100, 2, LONG), recording(during));
    again.saved.request(10);
    again.stages.request(10);
    for (int id = 1; id <= 3; id++) {
      again.events().sendNext(ChangeEnvelope.snapshot(id, ns, at, new org.bson.Document("_id", id)));
    }
    next(again.stages, 3);
    again.completions.sendNext(Completion.done(2)).sendNext(Completion.done(1));
    Checkpoint progress = again.saved.expectNext();
    assertThat(progress.kind()).isEqualTo(CheckpointKind.SNAPSHOT);
    assertThat(progress.resumeToken()).isNull();
    assertThat(progress.position()).isEqualTo(ResumePosition.snapshot(at, new org.bson.BsonInt32(2)));
    again.completions.sendNext(Completion.done(3));
    again.events().sendComplete();
    again.completions.sendComplete();
    assertThat(again.saved.expectNext().position()).isEqualTo(ResumePosition.snapshot(at, new org.bson.BsonInt32(3)));
  }

  @Test
  void savesTheSafeTokenOnceMoreWhenTheStreamEnds() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 1000, LONG), recording(saves));
    probes.stages.request(7);
    envelopes(1, 7).forEach(probes.events()::sendNext);
    next(probes.stages, 7);
    LongStream.rangeClosed(1, 7).forEach(seqNr -> probes.completions.sendNext(Completion.done(seqNr)));
    probes.events().sendComplete();
    probes.stages.expectComplete();
    probes.saved.request(1);
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    assertThat(saves).isEmpty();

    probes.completions.sendComplete();
    assertThat(probes.saved.expectNext()).isEqualTo(at(7));
    probes.saved.expectComplete();
    assertThat(saves).containsExactly(at(7));
  }

  @Test
  void whenAStageFailsItSavesTheSafeTokenAndFails() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(100, 1000, LONG), recording(saves));
    probes.stages.request(5);
    envelopes(1, 5).forEach(probes.events()::sendNext);
    next(probes.stages, 5);
    probes.completions.sendNext(Completion.done(1)).sendNext(Completion.done(2)).sendNext(Completion.done(4));
    probes.completions.sendError(new IllegalStateException("sink down"));
    probes.saved.request(2);
    assertThat(probes.saved.expectNext()).isEqualTo(at(2));
    assertThat(probes.saved.expectError()).isInstanceOf(StageFailedException.class).hasRootCauseMessage("sink down");
    probes.events().expectCancellation();
    assertThat(saves).containsExactly(at(2));
  }

  @Test
  void retriesAFailedSaveWithoutLosingIt() {
    AtomicInteger attempts = new AtomicInteger();
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Function<Checkpoint, CompletionStage<Done>> flaky = checkpoint -> {
      if (attempts.incrementAndGet() <= 2) return CompletableFuture.failedFuture(new RuntimeException("store down"));
      saves.add(checkpoint);
      return CompletableFuture.completedFuture(Done.getInstance());
    };
    Probes probes = run(WindowSettings.of(100, 3, LONG).withRetryBackoff(Duration.ofMillis(20), Duration.ofMillis(50)), flaky);
    probes.saved.request(1);
    probes.stages.request(3);
    envelopes(1, 3).forEach(probes.events()::sendNext);
    next(probes.stages, 3);
    LongStream.rangeClosed(1, 3).forEach(seqNr -> probes.completions.sendNext(Completion.done(seqNr)));
    assertThat(within(probes.saved, Duration.ofSeconds(3))).isEqualTo(at(3));
    assertThat(attempts.get()).isEqualTo(3);
    assertThat(saves).containsExactly(at(3));
    probes.endNormally();
  }

  @Test
  void ignoresARepeatedCompletionAndRefusesOneForAnEventNeverAdmitted() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 1, LONG), recording(saves));
    probes.saved.request(5);
    probes.stages.request(2);
    envelopes(1, 2).forEach(probes.events()::sendNext);
    next(probes.stages, 2);
    probes.completions.sendNext(Completion.done(1));
    assertThat(probes.saved.expectNext()).isEqualTo(at(1));
    probes.completions.sendNext(Completion.done(1));
    probes.saved.expectNoMessage(Duration.ofMillis(200));
    probes.completions.sendNext(Completion.done(99));
    assertThat(probes.saved.expectError()).hasMessageContaining("never admitted");
    assertThat(saves).containsExactly(at(1));
  }

  @Test
  void refusesToEndWhileStagesDroppedEventsWithoutCompletingThem() {
    Probes probes = run(WindowSettings.of(10, 1, LONG), recording(new CopyOnWriteArrayList<>()));
    probes.saved.request(5);
    probes.stages.request(2);
    envelopes(1, 2).forEach(probes.events()::sendNext);
    next(probes.stages, 2);
    probes.completions.sendNext(Completion.done(1));
    assertThat(probes.saved.expectNext()).isEqualTo(at(1));
    probes.completions.sendComplete();
    assertThat(probes.saved.expectError()).hasMessageContaining("1 events unfinished");
  }

  @Test
  void windowSettingsRefuseNonsense() {
    assertThatThrownBy(() -> new InFlightWindow(0)).isInstanceOf(IllegalArgumentException.class);
    assertThat(WindowSettings.of(100, 50, LONG).replayBound()).isEqualTo(150);
  }

  // ---- heartbeats, markers, failed lanes (issue 13) ----------------------------------------------

  private static StreamElement heartbeat(long afterSeqNr, long afterIndex) {
    return new StreamElement.Heartbeat(afterSeqNr, Envelopes.heartbeatToken(afterIndex));
  }

  @Test
  void heartbeatsTakeNoSlotAndBecomeTheCheckpointOnceTheEventTheyFollowIsDone() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    WindowStats stats = new WindowStats();
    Probes probes = run(WindowSettings.of(2, 100, Duration.ofMillis(50)), recording(saves), TestSource.<StreamElement>probe(testKit.system().classicSystem()), stats);
    probes.saved.request(10);
    probes.stages.request(10);
    probes.events().sendNext(Envelopes.insert(1));
    probes.stages.expectNext();
    // The stream falls quiet while event 1 is still being worked on: many heartbeats, more than the window holds.
    for (int h = 1; h <= 10; h++) probes.events().sendNext(heartbeat(1, h));
    assertThat(stats.inFlight()).as("heartbeats take no slot").isEqualTo(1);
    probes.events().sendNext(Envelopes.insert(2));
    assertThat(probes.stages.expectNext().seqNr()).as("an event after the quiet period is admitted").isEqualTo(2);
    probes.completions.sendNext(Completion.done(2));
    probes.saved.expectNoMessage(Duration.ofMillis(150));
    probes.completions.sendNext(Completion.done(1));
    assertThat(probes.saved.expectNext().resumeToken()).isEqualTo(Envelopes.insert(2).resumeToken());
    probes.events().sendNext(heartbeat(2, 20));
    Checkpoint quiet = probes.saved.expectNext();
    assertThat(quiet.kind()).isEqualTo(CheckpointKind.HEARTBEAT);
    assertThat(quiet.resumeToken()).isEqualTo(Envelopes.heartbeatToken(20));
    probes.endNormally();
  }

  @Test
  void aHeartbeatThatDoesNotMovePastTheNewestPositionIsDropped() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 1, Duration.ofMillis(20)), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    probes.events().sendNext(Envelopes.event(1, 5, "k"));
    probes.stages.expectNext();
    probes.completions.sendNext(Completion.done(1));
    assertThat(Envelopes.index(probes.saved.expectNext().resumeToken())).isEqualTo(5);
    // A high-water mark behind the event (a fresh server's position before the start): never a checkpoint, never fatal.
    probes.events().sendNext(heartbeat(1, 3));
    probes.saved.expectNoMessage(Duration.ofMillis(150));
    probes.events().sendNext(heartbeat(1, 7));
    assertThat(Envelopes.index(probes.saved.expectNext().resumeToken())).isEqualTo(7);
    probes.endNormally();
    assertThat(saves).hasSize(2);
  }

  @Test
  void theInFlightGaugeCountsMarkersWaitingBehindAnUnfinishedEvent() {
    WindowStats stats = new WindowStats();
    Probes probes = run(WindowSettings.of(10, 100, LONG), recording(new CopyOnWriteArrayList<>()),
        TestSource.<StreamElement>probe(testKit.system().classicSystem()), stats);
    probes.saved.request(10);
    probes.stages.request(10);
    probes.events().sendNext(Envelopes.insert(1));
    probes.stages.expectNext();
    ResumePosition at = ResumePosition.startAtOperationTime(new org.bson.BsonTimestamp(1_800_000_000, 1));
    for (long seqNr = 2; seqNr <= 5; seqNr++) probes.events().sendNext(new StreamElement.Gap(seqNr, at, "gap " + seqNr));
    probes.events().sendNext(Envelopes.insert(6));
    probes.stages.expectNext();
    assertThat(stats.inFlight()).as("event 1, four gaps behind it, event 6").isEqualTo(6);
    probes.completions.sendNext(Completion.done(1));
    Await.until(Duration.ofSeconds(5), () -> stats.inFlight() == 1, () -> "only event 6 in flight, have " + stats.inFlight());
    probes.completions.sendNext(Completion.done(6));
    probes.events().sendComplete();
    probes.stages.expectComplete();
    probes.completions.sendComplete();
    assertThat(next(probes.saved, 6)).extracting(Checkpoint::kind).containsExactly(
        CheckpointKind.EVENT, CheckpointKind.GAP, CheckpointKind.GAP, CheckpointKind.GAP, CheckpointKind.GAP, CheckpointKind.EVENT);
    probes.saved.expectComplete();
  }

  @Test
  void aFailedLaneStopsAdmittingLetsTheOthersFinishThenSavesAndFails() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 100, LONG), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    envelopes(1, 4).forEach(probes.events()::sendNext);
    next(probes.stages, 4);
    probes.completions.sendNext(Completion.done(1));
    probes.completions.sendNext(Completion.failed(3, new IllegalStateException("lane down")));
    // No more events go to the stages; the other lanes still report what they finish.
    probes.stages.expectComplete();
    probes.completions.sendNext(Completion.done(2));
    probes.completions.sendNext(Completion.done(4));
    probes.saved.expectNoMessage(Duration.ofMillis(100));
    probes.completions.sendComplete();
    assertThat(probes.saved.expectNext()).isEqualTo(at(2));
    assertThat(probes.saved.expectError()).isInstanceOf(StageFailedException.class).hasMessageContaining("lane down");
  }

  @Test
  void lanesThatDoNotFinishWithinTheDrainTimeoutFailTheRunLoudly() {
    List<Checkpoint> saves = new CopyOnWriteArrayList<>();
    Probes probes = run(WindowSettings.of(10, 100, LONG).withDrainTimeout(Duration.ofMillis(300)), recording(saves));
    probes.saved.request(10);
    probes.stages.request(10);
    envelopes(1, 3).forEach(probes.events()::sendNext);
    next(probes.stages, 3);
    probes.completions.sendNext(Completion.done(1));
    probes.completions.sendNext(Completion.failed(2, new IllegalStateException("lane down")));
    // Event 3's lane never finishes.
    assertThat(probes.saved.expectNext()).isEqualTo(at(1));
    assertThat(probes.saved.expectError()).isInstanceOf(LanesDidNotDrainException.class)
        .hasMessageContaining("tidemark.pipeline.drain-timeout").hasMessageContaining("#3");
    probes.completions.expectCancellation();
  }
}
