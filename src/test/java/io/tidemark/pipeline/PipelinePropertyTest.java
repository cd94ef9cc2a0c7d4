package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.japi.Pair;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.FlowWithContext;
import akka.stream.javadsl.Source;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.window.WindowSettings;
import io.tidemark.window.WindowStats;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The pipeline's guarantees over many random worlds: random keys, random parallelism, window and
 * throttle, random completion times (so completions arrive out of order across lanes), and random
 * stage failures that make the pipeline restart from its checkpoint. In every world:
 *
 * <ul>
 *   <li>a saved checkpoint never passes an event that has not completed;
 *   <li>each restart replays at most N events;
 *   <li>events of one key never run concurrently, and run in stream order within a run;
 *   <li>every event completes at least once.
 * </ul>
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class PipelinePropertyTest {
  private static final int SEEDS = 40;
  private static final int EVENTS = 300;
  private final ActorTestKit testKit = ActorTestKit.create();

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /** One random world and what happened in it. */
  private final class World {
    final Random random;
    final int window;
    final int throttle;
    final int parallelism;
    final List<String> keys = new ArrayList<>();
    final Set<Long> completed = ConcurrentHashMap.newKeySet();
    final Map<String, AtomicInteger> busy = new ConcurrentHashMap<>();
    final Map<String, Long> lastStartedInRun = new ConcurrentHashMap<>();
    final List<String> violations = Collections.synchronizedList(new ArrayList<>());
    final Set<Long> startedBefore = ConcurrentHashMap.newKeySet();
    final Set<Long> startedThisRun = ConcurrentHashMap.newKeySet();
    final List<Integer> replays = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger failuresLeft;
    final AtomicLong savedIndex = new AtomicLong(-1);
    final double failureRate;

    World(long seed) {
      random = new Random(seed);
      window = 4 + random.nextInt(29);
      throttle = 1 + random.nextInt(20);
      parallelism = List.of(1, 2, 4, 8).get(random.nextInt(4));
      failuresLeft = new AtomicInteger(random.nextInt(4));
      failureRate = 0.01 + random.nextDouble() * 0.02;
      int distinctKeys = 1 + random.nextInt(12);
      for (int i = 0; i < EVENTS; i++) keys.add("k" + random.nextInt(distinctKeys));
    }

    /** Index of an event in the stream, from its made-up token. */
    long index(ChangeEnvelope envelope) {
      return Long.parseLong(envelope.resumeToken().getString("_data").getValue(), 16);
    }

    synchronized double nextDouble() {
      return random.nextDouble();
    }

    CompletionStage<ChangeEnvelope> process(ChangeEnvelope envelope) {
      long index = index(envelope);
      String key = keys.get((int) index);
      if (busy.computeIfAbsent(key, k -> new AtomicInteger()).incrementAndGet() != 1) {
        violations.add("key " + key + " ran concurrently at event " + index);
      }
      Long previous = lastStartedInRun.put(key, index);
      if (previous != null && previous >= index) violations.add("key " + key + " ran " + index + " after " + previous);
      startedThisRun.add(index);
      long delayMicros = (long) (nextDouble() * 600);
      boolean fail = nextDouble() < failureRate && failuresLeft.getAndDecrement() > 0;
      return CompletableFuture.supplyAsync(() -> envelope, CompletableFuture.delayedExecutor(delayMicros, TimeUnit.MICROSECONDS))
          .thenCompose(done -> {
            busy.get(key).decrementAndGet();
            if (fail) return CompletableFuture.failedFuture(new IllegalStateException("random failure at " + index));
            completed.add(index);
            return CompletableFuture.completedFuture(envelope);
          });
    }

    CompletionStage<Done> save(Checkpoint checkpoint) {
      long index = Long.parseLong(checkpoint.resumeToken().getString("_data").getValue(), 16);
      for (long i = 0; i <= index; i++) {
        if (!completed.contains(i)) {
          violations.add("checkpoint at " + index + " passes event " + i + ", which had not completed");
          break;
        }
      }
      savedIndex.set(index);
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    /** One run: the events after the saved checkpoint, numbered from 1 as the real source does. */
    Pair<UniqueKillSwitch, CompletionStage<Done>> run() {
      Set<Long> replayed = ConcurrentHashMap.newKeySet();
      replayed.addAll(startedThisRun);
      if (!startedThisRun.isEmpty()) {
        int replay = (int) startedThisRun.stream().filter(i -> i > savedIndex.get()).count();
        replays.add(replay);
      }
      startedBefore.addAll(startedThisRun);
      startedThisRun.clear();
      lastStartedInRun.clear();
      long from = savedIndex.get() + 1;
      List<ChangeEnvelope> events = new ArrayList<>();
      for (long index = from; index < EVENTS; index++) events.add(Envelopes.event(index - from + 1, index, keys.get((int) index)));
      var stages = FlowWithContext.<ChangeEnvelope, EventContext>create().mapAsync(1, this::process).asFlow()
          .map(out -> Pair.create((Object) out.first(), out.second()));
      return PipelineGraph.create(
              Source.from(events), "property", WindowSettings.of(window, throttle, Duration.ofMillis(50)),
              parallelism, stages, this::save, new WindowStats())
          .run(testKit.system());
    }
  }

  @Test
  void everyRandomWorldKeepsTheGuarantees() throws Exception {
    int restarts = 0;
    int replayed = 0;
    for (long seed = 1; seed <= SEEDS; seed++) {
      World world = new World(seed);
      FailureSettings retry = FailureSettings.of(FailurePolicy.RETRY).withRestartBackoff(Duration.ofMillis(5), Duration.ofMillis(20));
      PipelineRunner runner = new PipelineRunner("property", world::run, retry, testKit.system(), new PipelineStats()).start();
      runner.completion().toCompletableFuture().get(60, TimeUnit.SECONDS);

      String where = String.format("seed %d (N=%d, K=%d, P=%d)", seed, world.window, world.throttle, world.parallelism);
      assertThat(world.violations).as(where).isEmpty();
      for (long index = 0; index < EVENTS; index++) assertThat(world.completed).as(where).contains(index);
      assertThat(world.replays).as(where + ": events replayed per restart").allSatisfy(replay -> assertThat(replay).isLessThanOrEqualTo(world.window));
      restarts += world.replays.size();

      replayed += world.replays.stream().mapToInt(Integer::intValue).sum();
    }
    // The worlds must have exercised what they claim to: failures, restarts and replays.
    assertThat(restarts).isGreaterThan(SEEDS / 4);
    assertThat(replayed).isGreaterThan(0);
    System.out.printf("%d worlds, %d restarts, %d events replayed%n", SEEDS, restarts, replayed);
  }
}
