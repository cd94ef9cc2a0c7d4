package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Source;
import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.StreamElement;
import io.tidemark.source.Envelopes;
import io.tidemark.window.WindowSettings;
import io.tidemark.window.WindowStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The window's guarantees under stage shapes that are not one element per event: fan-out,
 * filters that pass little or nothing, a lane that fails while another holds a slow write, and
 * quiet streams with heartbeats. Each test is a defect that was seen (issue 13), written to fail
 * before its fix.
 */
class StageShapesTest extends io.tidemark.PipelineTestBase {

  /** Saved checkpoints, by the index of the made-up event they stand at. */
  private static final class Saves {
    final List<Long> indexes = new CopyOnWriteArrayList<>();

    CompletionStage<Done> save(Checkpoint checkpoint) {
      indexes.add(Envelopes.index(checkpoint.resumeToken()));
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    long newest() {
      return indexes.isEmpty() ? -1 : indexes.get(indexes.size() - 1);
    }
  }

  private static List<ChangeEnvelope> events(int count, java.util.function.IntFunction<String> key) {
    List<ChangeEnvelope> events = new ArrayList<>();
    for (int i = 1; i <= count; i++) events.add(Envelopes.event(i, i, key.apply(i)));
    return events;
  }

  /** Runs the stages over the source, a window of N, a checkpoint after every K events or 20 ms. */
  private Pair<UniqueKillSwitch, CompletionStage<Done>> run(
      Source<? extends StreamElement, ?> source, int parallelism, int window, int throttle, PipelineBuilder<?> stages, Saves saves,
      WindowStats stats) {
    return PipelineGraph.create(
            source.map(element -> (StreamElement) element), WindowSettings.of(window, throttle, Duration.ofMillis(20)), parallelism, stages.userStages(),
            saves::save, stats, RunContext.of("shapes"))
        .run(testKit.system());
  }

  /** The source's events, then nothing: the stream stays open, as a real one does. */
  private static Source<ChangeEnvelope, NotUsed> thenQuiet(List<ChangeEnvelope> events) {
    return Source.from(events).concat(Source.<ChangeEnvelope>maybe().mapMaterializedValue(promise -> NotUsed.getInstance()));
  }

  // ---- defect 1: fan-out -------------------------------------------------------------------------

  @Test
  void aFannedOutEventIsDoneOnlyWhenEveryOneOfItsElementsIs() throws Exception {
    CompletableFuture<String> secondHalfOfTheFirst = new CompletableFuture<>();
    List<String> written = new CopyOnWriteArrayList<>();
    PipelineBuilder<String> stages = Pipeline.named("fan-out")
        .mapConcat(event -> List.of("a" + event.seqNr(), "b" + event.seqNr()))
        .mapAsync(part -> {
          CompletionStage<String> write = part.equals("b1") ? secondHalfOfTheFirst : CompletableFuture.completedFuture(part);
          return write.thenApply(done -> {
            written.add(done);
            return done;
          });
        });
    Saves saves = new Saves();
    WindowStats stats = new WindowStats();
    var run = run(thenQuiet(events(3, i -> "k" + i)), 1, 10, 1, stages, saves, stats);

    Await.until(Duration.ofSeconds(10), () -> written.contains("a1"), () -> "the first element of event 1 written");
    // Ask the window for its events in flight: answered after it has handled everything before.
    stats.inFlightEvents().toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(saves.indexes).as("no checkpoint may pass event 1 while its second element is being written").isEmpty();

    secondHalfOfTheFirst.complete("b1");
    Await.until(Duration.ofSeconds(10), () -> saves.newest() == 3, () -> "a checkpoint at event 3, saved " + saves.indexes);
    assertThat(written).containsExactly("a1", "b1", "a2", "b2", "a3", "b3");
    run.first().shutdown();
    run.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  // ---- defect 5: a filter that passes little ----------------------------------------------------

  @Test
  void aFilterThatPassesOneInFortyNeverStallsTheStream() throws Exception {
    List<Long> delivered = new CopyOnWriteArrayList<>();
    PipelineBuilder<ChangeEnvelope> stages = Pipeline.named("sparse")
        .filter(event -> event.seqNr() % 40 == 0)
        .mapAsync(event -> {
          delivered.add(event.seqNr());
          return CompletableFuture.completedFuture(event);
        });
    Saves saves = new Saves();
    var run = run(thenQuiet(events(400, i -> "k" + i)), 4, 50, 10, stages, saves, new WindowStats());

    Await.until(Duration.ofSeconds(10), () -> delivered.size() == 10, () -> "the 10 events that pass, delivered " + delivered);
    Await.until(Duration.ofSeconds(10), () -> saves.newest() == 400, () -> "a checkpoint at event 400, saved " + saves.newest());
    run.first().shutdown();
    run.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  @Test
  void aFilterThatPassesNothingStillMovesTheCheckpoint() throws Exception {
    PipelineBuilder<ChangeEnvelope> stages = Pipeline.named("nothing").filter(event -> false);
    Saves saves = new Saves();
    var run = run(thenQuiet(events(100, i -> "k" + (i % 7))), 4, 10, 5, stages, saves, new WindowStats());

    Await.until(Duration.ofSeconds(10), () -> saves.newest() == 100, () -> "a checkpoint at event 100, saved " + saves.newest());
    run.first().shutdown();
    run.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  // ---- defect 2: a lane fails while another holds a slow write -------------------------------------

  @Test
  void aRestartAfterALaneFailedWaitsForTheOtherLanesWritesSoNoStaleWriteLandsLast() throws Exception {
    // Two keys in two different lanes: K's insert is slow the first time; X fails once.
    String k = keyInLane(0, 2);
    String x = keyInLane(1, 2);
    List<ChangeEnvelope> source = List.of(Envelopes.event(1, 1, k), Envelopes.event(2, 2, x), Envelopes.event(3, 3, k));
    CompletableFuture<Void> slowInsert = new CompletableFuture<>();
    AtomicInteger insertsOfK = new AtomicInteger();
    AtomicInteger failuresOfX = new AtomicInteger();
    Map<String, Long> target = new ConcurrentHashMap<>();
    Map<String, AtomicInteger> busy = new ConcurrentHashMap<>();
    List<String> violations = new CopyOnWriteArrayList<>();
    PipelineBuilder<ChangeEnvelope> stages = Pipeline.named("stale")
        .mapAsync(event -> {
          String key = event.documentKey().getString("_id").getValue();
          long version = Envelopes.index(event.resumeToken());
          if (busy.computeIfAbsent(key, any -> new AtomicInteger()).incrementAndGet() > 1) {
            violations.add("two writes of " + key + " at once (version " + version + ")");
          }
          CompletableFuture<Void> write;
          if (version == 1 && insertsOfK.incrementAndGet() == 1) write = slowInsert;
          else if (version == 2 && failuresOfX.incrementAndGet() == 1) write = CompletableFuture.failedFuture(new IllegalStateException("X fails once"));
          else write = CompletableFuture.completedFuture(null);
          return write.handle((done, error) -> {
            busy.get(key).decrementAndGet();
            if (error != null) throw new java.util.concurrent.CompletionException(error);
            target.put(key, version); // an upsert: the newest write to land wins
            return event;
          });
        });
    Saves saves = new Saves();
    FailureSettings retry = FailureSettings.of(FailurePolicy.RETRY).withRestartBackoff(Duration.ofMillis(10), Duration.ofMillis(10));
    PipelineRunner runner = new PipelineRunner("stale", () -> {
          long from = saves.newest() + 1;
          List<ChangeEnvelope> rest = new ArrayList<>();
          for (ChangeEnvelope event : source) {
            long index = Envelopes.index(event.resumeToken());
            if (index >= Math.max(from, 1)) rest.add(Envelopes.event(rest.size() + 1, index, event.documentKey().getString("_id").getValue()));
          }
          return run(thenQuiet(rest), 2, 10, 1, stages, saves, new WindowStats());
        }, retry, testKit.system(), new PipelineStats()).start();

    // The slow insert lands once a second run has written K's update, or after a second: a second run
    // must not start before it, so the update cannot come first.
    Await.until(Duration.ofSeconds(10), () -> failuresOfX.get() == 1, () -> "X failed");
    Await.atMost(Duration.ofSeconds(1), () -> target.get(k) != null && target.get(k) == 3);
    slowInsert.complete(null);

    Await.until(Duration.ofSeconds(10), () -> saves.newest() == 3, () -> "every event done, saved " + saves.indexes);
    assertThat(violations).isEmpty();
    assertThat(target).as("the newest version of each key is the one that landed last").containsEntry(k, 3L).containsEntry(x, 2L);
    runner.drainAndStop().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }

  /** A key that {@link Lanes#lane} puts in the given lane. */
  static String keyInLane(int lane, int parallelism) {
    for (int i = 0; ; i++) {
      String key = "key-" + i;
      if (Lanes.lane(new org.bson.BsonDocument("_id", new org.bson.BsonString(key)), parallelism) == lane) return key;
    }
  }

  // ---- defect 6: heartbeats behind a filtered last event -----------------------------------------

  @Test
  void heartbeatsNeverFillTheWindowOnAQuietStream() throws Exception {
    int window = 5;
    List<StreamElement> source = new ArrayList<>(events(3, i -> "k" + i));
    // The stream falls quiet after event 3 (which the filter drops): heartbeats, more than the window holds.
    // A heartbeat carries the number of the event it follows: it takes no slot of the window.
    for (int h = 0; h < window * 3; h++) source.add(new StreamElement.Heartbeat(3, Envelopes.heartbeatToken(3 + h)));
    List<Long> delivered = new CopyOnWriteArrayList<>();
    PipelineBuilder<ChangeEnvelope> stages = Pipeline.named("quiet")
        .filter(event -> event.seqNr() != 3)
        .mapAsync(event -> {
          delivered.add(Envelopes.index(event.resumeToken()));
          return CompletableFuture.completedFuture(event);
        });
    Saves saves = new Saves();
    int afterQuiet = 3 + window * 3 + 1;
    var events = Source.from(source)
        .concat(Source.<StreamElement>single(Envelopes.event(4, afterQuiet, "k-late")))
        .concat(Source.<StreamElement>maybe().mapMaterializedValue(promise -> NotUsed.getInstance()));
    var run = run(events, 1, window, 100, stages, saves, new WindowStats());

    Await.until(Duration.ofSeconds(10), () -> delivered.contains((long) afterQuiet), () -> "the event after the quiet period, delivered " + delivered);
    Await.until(Duration.ofSeconds(10), () -> saves.newest() == afterQuiet, () -> "a checkpoint at it, saved " + saves.indexes);
    run.first().shutdown();
    run.second().toCompletableFuture().get(10, TimeUnit.SECONDS);
  }
}
