package io.tidemark.bench;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.javadsl.FlowWithContext;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The same pre-written change events, read to the end by three consumers in turn, several rounds:
 * (a) a bare {@code watch()} of the reactive-streams driver that only counts; (b) a Tidemark
 * pipeline with a no-op stage, checkpointing to H2 as the embedded default does; (c) a Tidemark
 * pipeline with parallelism 8 and a sink that takes 1 ms per event. Events per second from the
 * first event to the last (the start-up, client and stream opening, is reported apart).
 */
final class EndToEndBenchmark {
  private EndToEndBenchmark() {}

  static final String BARE = "(a) bare driver watch()";
  static final String NO_OP = "(b) Tidemark, no-op stage";
  static final String SINK = "(c) Tidemark, P=8, 1 ms sink";
  static final int BATCH_SIZE = 1_000;

  /** One consumer reading the events once. */
  record Run(String consumer, int round, long events, long openToFirstNanos, long firstToLastNanos, long cpuNanos) {
    double eventsPerSecond() {
      return (events - 1) * 1e9 / firstToLastNanos;
    }

    double cpuMicrosPerEvent() {
      return cpuNanos / 1e3 / events;
    }
  }

  /** Times one run: when it opened, its first event, and the event that reaches the target. */
  static final class Clock {
    final long target;
    final long opened = System.nanoTime();
    final long cpuAtOpen = CpuProfile.processCpuNanos();
    final AtomicLong count = new AtomicLong();
    final CompletableFuture<Long> reached = new CompletableFuture<>();
    volatile long first;
    volatile long cpuAtEnd;

    Clock(long target) {
      this.target = target;
    }

    void onEvent() {
      long n = count.incrementAndGet();
      if (n == 1) first = System.nanoTime();
      if (n == target) {
        long now = System.nanoTime();
        cpuAtEnd = CpuProfile.processCpuNanos();
        reached.complete(now);
      }
    }

    Run await(String consumer, int round) throws Exception {
      long last = reached.get(10, TimeUnit.MINUTES);
      return new Run(consumer, round, target, first - opened, last - first, cpuAtEnd - cpuAtOpen);
    }
  }

  /** (a): the driver's change-stream publisher, subscribed with unbounded demand, counting. */
  static Run bare(String uri, BsonTimestamp from, int events, int round) throws Exception {
    Clock clock = new Clock(events);
    try (MongoClient client = MongoClients.create(uri)) {
      Subscription[] subscription = new Subscription[1];
      client.getDatabase(BenchEvents.DATABASE).getCollection(BenchEvents.COLLECTION)
          .watch()
          .batchSize(BATCH_SIZE)
          .maxAwaitTime(1, TimeUnit.SECONDS)
          .startAtOperationTime(from)
          .subscribe(new Subscriber<ChangeStreamDocument<Document>>() {
            @Override
            public void onSubscribe(Subscription s) {
              subscription[0] = s;
              s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(ChangeStreamDocument<Document> event) {
              clock.onEvent();
            }

            @Override
            public void onError(Throwable t) {
              clock.reached.completeExceptionally(t);
            }

            @Override
            public void onComplete() {
              clock.reached.completeExceptionally(new IllegalStateException("the change stream ended"));
            }
          });
      Run run = clock.await(BARE, round);
      subscription[0].cancel();
      return run;
    }
  }

  /** (b) and (c): a pipeline from the same position, a fresh stream name per run (so no stored checkpoint). */
  static Run pipeline(ActorSystem<?> system, CheckpointStore store, String uri, BsonTimestamp from, int events, int round,
      boolean sink, Executor sinkDelay) throws Exception {
    String stream = (sink ? "e2e-sink-" : "e2e-noop-") + round + "-" + Long.toHexString(System.nanoTime());
    var builder = Pipeline.named(stream)
        .mongoUri(uri)
        .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
        .startAtOperationTime(from)
        .checkpoints(store);
    Clock clock = new Clock(events);
    PipelineControl control = sink
        ? builder.parallelism(8)
            .mapAsync(event -> CompletableFuture.supplyAsync(Done::getInstance, sinkDelay))
            .via(FlowWithContext.<Done, EventContext>create().map(done -> {
              clock.onEvent();
              return done;
            }))
            .run(system)
        : builder
            .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> {
              clock.onEvent();
              return event;
            }))
            .run(system);
    try {
      return clock.await(sink ? SINK : NO_OP, round);
    } finally {
      control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
  }

  static void run(int events, int rounds) throws Exception {
    System.out.printf("== e2e: %,d pre-written events read by (a) a bare driver watch(), (b) Tidemark with a no-op stage,%n"
        + "   (c) Tidemark with P=8 and a 1 ms sink; %d rounds, alternating%n", events, rounds);
    Path dir = Files.createTempDirectory("tidemark-bench-e2e");
    Config config = TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString())
        .withFallback(ConfigFactory.parseString("akka.loglevel = WARNING"))
        .withFallback(ConfigFactory.load());
    Executor sinkDelay = CompletableFuture.delayedExecutor(1, TimeUnit.MILLISECONDS);
    List<Run> runs = new ArrayList<>();
    CpuProfile.Summary bareProfile;
    CpuProfile.Summary pipelineProfile;
    EmbeddedSettings settings = EmbeddedSettings.defaults().withCommitBeforeAck(false).withOplogMaxEntries(Math.max(500_000L, 2L * events));
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(settings);
        com.mongodb.client.MongoClient sync = com.mongodb.client.MongoClients.create(mongo.connectionString())) {
      String uri = mongo.connectionString();
      System.out.printf("writing %,d events%n", events);
      BenchEvents.insert(sync, 0, events);
      BsonTimestamp from = BenchEvents.firstEventTime(sync);
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-e2e", config);
      try {
        JdbcCheckpointStore store = JdbcCheckpointStore.create(system);
        store.ready().toCompletableFuture().get(1, TimeUnit.MINUTES);
        int warmUp = Math.min(events, 20_000);
        System.out.printf("warm-up: %,d events each%n", warmUp);
        print(bare(uri, from, warmUp, 0));
        print(pipeline(system, store, uri, from, warmUp, 0, false, sinkDelay));
        print(pipeline(system, store, uri, from, Math.min(events, 5_000), 0, true, sinkDelay));
        for (int round = 1; round <= rounds; round++) {
          runs.add(print(bare(uri, from, events, round)));
          runs.add(print(pipeline(system, store, uri, from, events, round, false, sinkDelay)));
          runs.add(print(pipeline(system, store, uri, from, events, round, true, sinkDelay)));
        }
        System.out.println("profiling one more run of (a) and (b) with Java Flight Recorder");
        bareProfile = CpuProfile.record("bare", () -> print(bare(uri, from, events, rounds + 1)));
        pipelineProfile = CpuProfile.record("tidemark", () -> print(pipeline(system, store, uri, from, events, rounds + 1, false, sinkDelay)));
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    }
    String md = markdown(events, rounds, runs, bareProfile, pipelineProfile);
    chart(runs);
    Report.writeSection("e2e", md);
    System.out.println(md);
  }

  private static Run print(Run run) {
    System.out.printf(Locale.ROOT, "round %d %-30s %,9.0f events/s  (opened to first event %,d ms, %,d events in %,d ms, CPU %.1f µs/event)%n",
        run.round(), run.consumer(), run.eventsPerSecond(), run.openToFirstNanos() / 1_000_000, run.events(),
        run.firstToLastNanos() / 1_000_000, run.cpuMicrosPerEvent());
    return run;
  }

  static Stats rates(List<Run> runs, String consumer) {
    return Stats.of(runs.stream().filter(r -> r.consumer().equals(consumer)).map(Run::eventsPerSecond).toList());
  }

  private static Stats of(List<Run> runs, String consumer, java.util.function.ToDoubleFunction<Run> f) {
    return Stats.of(runs.stream().filter(r -> r.consumer().equals(consumer)).mapToDouble(f).toArray());
  }

  /** b/a of each round, where both ran. */
  static Stats pairedRatios(List<Run> runs) {
    List<Double> ratios = new ArrayList<>();
    for (Run b : runs) {
      if (!b.consumer().equals(NO_OP)) continue;
      runs.stream().filter(a -> a.consumer().equals(BARE) && a.round() == b.round()).findFirst()
          .ifPresent(a -> ratios.add(b.eventsPerSecond() / a.eventsPerSecond()));
    }
    return Stats.of(ratios);
  }

  static String markdown(int events, int rounds, List<Run> runs, CpuProfile.Summary bare, CpuProfile.Summary pipeline) {
    StringBuilder md = new StringBuilder();
    md.append("## End to end: Tidemark against a bare driver `watch()`\n\n");
    md.append(String.format(Locale.ROOT,
        "Command: `mvn -B -Pbench test-compile exec:exec -Dbench=e2e [-Dbench.events=%d] [-Dbench.rounds=%d]`. `EndToEndBenchmark`:%n", events, rounds));
    md.append(String.format(Locale.ROOT,
        "%,d inserts pre-written to the embedded MongoDB (in memory, in the same JVM), then read from the first of them%n", events));
    md.append("(`startAtOperationTime`, batches of 1,000) by three consumers in turn, one after the other in each round, after a\n");
    md.append("warm-up round: **(a)** the reactive-streams driver's `watch()` publisher, subscribed with unbounded demand, only\n");
    md.append("counting; **(b)** a Tidemark pipeline (`Pipeline.named(...)` with the default window and throttle: 1,000 events in\n");
    md.append("flight, a checkpoint every 1,000 events or 1 s) with a no-op stage, checkpointing to an H2 file through\n");
    md.append("akka-persistence-jdbc as the embedded default does; **(c)** the same with `parallelism(8)` and a `mapAsync` sink that\n");
    md.append("completes each event after 1 ms. Events per second are counted from the first event to the last; the start-up\n");
    md.append("(client, checkpoint record and epoch, opening the stream) is the column apart. CPU is the whole process's (the\n");
    md.append("embedded server's included) per event. Target: b/a ≥ 0.95.\n\n");
    md.append("| consumer | events/s, median | spread (min–max) | start-up to first event, median | CPU per event, median |\n");
    md.append("|---|---|---|---|---|\n");
    for (String consumer : List.of(BARE, NO_OP, SINK)) {
      Stats rate = rates(runs, consumer);
      Stats startUp = of(runs, consumer, r -> r.openToFirstNanos() / 1e6);
      Stats cpu = of(runs, consumer, Run::cpuMicrosPerEvent);
      md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f – %,.0f | %,.0f ms | %.1f µs |%n",
          consumer, rate.median(), rate.min(), rate.max(), startUp.median(), cpu.median()));
    }
    double ratio = rates(runs, NO_OP).median() / rates(runs, BARE).median();
    Stats paired = pairedRatios(runs);
    md.append(String.format(Locale.ROOT,
        "%n**b/a = %.2f** (medians; per round %.2f to %.2f): the target of 0.95 is **%s**. c/a = %.2f: with a 1 ms sink, 8 lanes%n"
            + "can do at most 8,000 events/s, and (c) reaches %.0f %% of that.%n%n",
        ratio, paired.min(), paired.max(), ratio >= 0.95 ? "met" : "missed",
        rates(runs, SINK).median() / rates(runs, BARE).median(), 100 * rates(runs, SINK).median() / 8_000));
    md.append("Every round:\n\n| round | (a) events/s | (b) events/s | (c) events/s | b/a |\n|---|---|---|---|---|\n");
    for (int round = 1; round <= rounds; round++) {
      int r = round;
      double a = runs.stream().filter(x -> x.round() == r && x.consumer().equals(BARE)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
      double b = runs.stream().filter(x -> x.round() == r && x.consumer().equals(NO_OP)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
      double c = runs.stream().filter(x -> x.round() == r && x.consumer().equals(SINK)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
      md.append(String.format(Locale.ROOT, "| %d | %,.0f | %,.0f | %,.0f | %.2f |%n", round, a, b, c, b / a));
    }
    md.append("\n![events per second, end to end](img/e2e.svg)\n\n");
    md.append("**Where the time goes.** One more run of (a) and of (b), each under a Java Flight Recorder recording (execution\n");
    md.append("samples every 10 ms of every running thread; `CpuProfile`). A sample counts for the layer of its innermost frame\n");
    md.append("outside the JDK. The process CPU per event is the total the samples share out:\n\n");
    md.append(String.format(Locale.ROOT, "| layer | (a) bare driver: share of samples | (b) Tidemark: share of samples |%n|---|---|---|%n"));
    java.util.Set<String> layers = new java.util.LinkedHashSet<>(pipeline.layers().keySet());
    layers.addAll(bare.layers().keySet());
    for (String layer : layers) {
      md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", layer,
          bare.percent(bare.layers().getOrDefault(layer, 0L)), pipeline.percent(pipeline.layers().getOrDefault(layer, 0L))));
    }
    md.append(String.format(Locale.ROOT, "| *process CPU per event* | *%.1f µs* | *%.1f µs* |%n%n",
        bare.cpuNanos() / 1e3 / events, pipeline.cpuNanos() / 1e3 / events));
    md.append("The hottest methods (innermost frame) under (b):\n\n");
    md.append(pipeline.topMethods(10));
    md.append('\n');
    md.append(EndToEndAnalysis.TEXT);
    return md.toString();
  }

  static void chart(List<Run> runs) throws java.io.IOException {
    List<Report.Bar> bars = new ArrayList<>();
    for (String consumer : List.of(BARE, NO_OP, SINK)) {
      Stats rate = rates(runs, consumer);
      bars.add(new Report.Bar(consumer, rate.median(), consumer, rate.min(), rate.max()));
    }
    Report.barChart("e2e.svg", "End to end, events per second: median and min–max (higher is better)", "ev/s", bars);
  }
}
