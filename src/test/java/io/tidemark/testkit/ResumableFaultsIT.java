package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.FaultSettings;
import io.tidemark.source.SourceSettings;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Resumable faults: a dropped connection, a killed cursor, resumable errors and an election are
 * resumed with nothing lost and nothing repeated; an error that is not resumable stops the stream
 * with its checkpoint at the last delivered event.
 */
class ResumableFaultsIT extends FaultsFixture {

  @Test
  void aDroppedConnectionIsResumedWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("dropped", quiet(), InMemoryCheckpointStore.create(), received, 20);
    long before = errors(control);

    mongo.failCommand(FailCommand.on("getMore").closeConnection().times(1));
    insert("dropped", 20, 40);
    Await.until(Duration.ofSeconds(10), () -> errors(control) > before, () -> "the dropped connection seen; failed commands " + control.stats().errors());
    insert("dropped", 40, 60);

    awaitIds(received, range(0, 60));
    assertThat(received.counts.values()).as("each event once: resumed from the last delivered token").allMatch(n -> n.get() == 1);
    assertThat(control.stats().gaps()).isZero();
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  static Stream<Arguments> resumableErrors() {
    return Stream.of(
        Arguments.of(43, new String[0]),
        Arguments.of(237, new String[0]),
        Arguments.of(11602, new String[] {"ResumableChangeStreamError"}));
  }

  @ParameterizedTest(name = "code {0} {1}")
  @MethodSource("resumableErrors")
  void aResumableErrorOnGetMoreIsResumedAndCounted(int code, String[] labels) throws Exception {
    String name = "resumable-" + code;
    Received received = new Received();
    PipelineControl control = runThrough(name, quiet(), InMemoryCheckpointStore.create(), received, 10);

    mongo.failCommand(FailCommand.on("getMore").errorCode(code).errorLabels(labels).times(2));
    insert(name, 10, 30);

    awaitIds(received, range(0, 30));
    Await.until(Duration.ofSeconds(10), () -> control.stats().errors().getOrDefault(String.valueOf(code), 0L) >= 2,
        () -> "both injected " + code + "s counted; have " + control.stats().errors());
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().gaps()).isZero();
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  /**
   * Resumable errors while events queue behind a slow stage (so that events the cursor already
   * returned are still on their way through the source when it fails), with heartbeats on — the
   * defaults — and off: every event exactly once, in order.
   */
  @ParameterizedTest(name = "heartbeats {0}")
  @org.junit.jupiter.params.provider.ValueSource(booleans = {true, false})
  void resumableErrorsWhileEventsQueueBehindASlowStageNeitherRepeatNorSkip(boolean heartbeats) throws Exception {
    String name = "queued-" + heartbeats;
    Received received = new Received();
    // Heartbeats on as by default (their merge in place), at an interval this test never reaches: the probe's own
    // cursor would take the fail point's hits.
    FaultSettings faults = FaultSettings.defaults().heartbeat(heartbeats, Duration.ofSeconds(30));
    PipelineControl control = run(Pipeline.named(name)
        .mongoUri(mongo.uri())
        .collection(DB, name)
        .checkpoints(InMemoryCheckpointStore.create())
        .windowSettings(WindowSettings.of(1, 1, Duration.ofMillis(50)))
        .sourceSettings(SourceSettings.create(system()).withBatchSize(3).withRestartBackoff(Duration.ofMillis(1), Duration.ofMillis(2)))
        .faults(faults)
        .mapAsync(event -> CompletableFuture.supplyAsync(() -> received.record(event),
            CompletableFuture.delayedExecutor(40, TimeUnit.MILLISECONDS))));
    started(control);

    for (int wave = 0; wave < 4; wave++) {
      insert(name, wave * 10, wave * 10 + 10);
      int deliveredBefore = received.events.size();
      Await.until(Duration.ofSeconds(10), () -> received.events.size() > deliveredBefore, () -> "events of wave flowing");
      // The connection drops on the getMore and again on the driver's own resume: the stream reopens itself.
      mongo.failCommand(FailCommand.on("getMore", "aggregate").closeConnection().times(2));
    }

    awaitIds(received, range(0, 40));
    assertThat(received.events.stream().map(e -> e.documentKey().get("_id").asInt32().getValue()).toList())
        .as("each event once, in order, across the reopens").isEqualTo(IntStream.range(0, 40).boxed().toList());
  }

  /**
   * The streams of a deployment share its client and its command listener: a failed command is
   * counted for the stream whose command it was, and for no other.
   */
  @Test
  void aFailedCommandIsCountedForTheStreamThatRanItAlone() throws Exception {
    Received running = new Received();
    PipelineControl first = runThrough("counted-first", quiet(), InMemoryCheckpointStore.create(), running, 5);
    long firstBefore = errors(first);

    // The first stream's cursor only sends getMores: the next aggregate is the second stream's.
    // (NotWritablePrimary is retryable: the driver retries the aggregate itself.)
    mongo.failCommand(FailCommand.on("aggregate").errorCode(10107).errorLabels("ResumableChangeStreamError").times(1));
    Received joining = new Received();
    PipelineControl second = runThrough("counted-second", quiet(), InMemoryCheckpointStore.create(), joining, 5);
    insert("counted-first", 5, 10);
    awaitIds(running, range(0, 10));

    assertThat(second.stats().errors()).as("the second stream's failed aggregate").containsEntry("10107", 1L);
    assertThat(errors(first)).as("nothing counted for the first stream: %s", first.stats().errors()).isEqualTo(firstBefore);
  }

  @Test
  void aKilledCursorIsResumedWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("killed", quiet(), InMemoryCheckpointStore.create(), received, 10);

    Await.until(Duration.ofSeconds(10), () -> mongo.killChangeStreamCursors() > 0, () -> "an open change-stream cursor to kill");
    insert("killed", 10, 30);

    awaitIds(received, range(0, 30));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().errors()).as("the killed cursor's getMore failed with CursorNotFound").containsKey("43");
  }

  @Test
  void aServerErrorWithoutTheResumableLabelStopsTheStream() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("unlabelled", quiet(), InMemoryCheckpointStore.create(), received, 5);
    awaitSavedToken(control, received.last().resumeToken());

    // A 4.4+ server labels what is resumable; 11602 without the label is not.
    mongo.failCommand(FailCommand.on("getMore").errorCode(11602).times(1));
    insert("unlabelled", 5, 10);

    assertThat(failure(control)).hasMessageContaining("11602");
    assertThat(control.stats().window().lastSaved().resumeToken())
        .as("the checkpoint stays at the last delivered event: the next run resumes there")
        .isEqualTo(received.last().resumeToken());
  }

  @Test
  void aServerErrorOnTheAggregateThatAnElectionDidNotRaiseIsNeverResumed() throws Exception {
    // 13 Unauthorized: a reopen would fail the same way. (The driver tries a failed aggregate twice, as a retryable read.)
    mongo.failCommand(FailCommand.on("aggregate").errorCode(13).errorLabels("ResumableChangeStreamError").times(2));
    PipelineControl control = start("aggregate", "aggregate", quiet(), InMemoryCheckpointStore.create(), new Received());

    assertThat(failure(control)).hasMessageContaining("13");
    assertThat(control.stats().errors()).containsKey("13");
  }

  @Test
  void anElectionDuringAReopenIsWaitedOutWithNothingLost() throws Exception {
    Received received = new Received();
    PipelineControl control = runThrough("election", quiet(), InMemoryCheckpointStore.create(), received, 10);

    // The primary steps down: the getMore fails (labelled resumable), and so do the aggregates that reopen
    // the stream, until the new primary is up. (One fail point, as on a real server: getMore first.)
    mongo.failCommand(FailCommand.on("getMore", "aggregate").errorCode(10107).errorLabels("ResumableChangeStreamError").times(5));
    insert("election", 10, 30);

    awaitIds(received, range(0, 30));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.stats().errors()).containsKey("10107");
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }
}
