package io.tidemark.bench;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.stream.alpakka.mongodb.javadsl.MongoSource;
import akka.stream.javadsl.FlowWithContext;
import akka.stream.javadsl.Sink;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
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
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The same pre-written change events, read to the end by each consumer in turn, several rounds:
 * (a) a bare {@code watch()} of the reactive-streams driver that only counts; (b) a Tidemark
 * pipeline with a no-op stage, checkpointing to H2 as the embedded default does; (c) a Tidemark
 * pipeline with parallelism 8 and a sink that takes 1 ms per event. Two more consumers split the
 * difference between (a) and (b): Alpakka's {@code MongoSource} alone (the source Tidemark reads
 * with), and (b) with its checkpoints in memory. Events per second from the first event to the
 * last (the start-up, client and stream opening, is reported apart).
 */
final class EndToEndBenchmark {
  private EndToEndBenchmark() {}

  static final String BARE = "(a) bare driver watch()";
  static final String ALPAKKA = "(a′) Alpakka MongoSource, counting";
  static final String NO_OP_MEMORY = "(b′) Tidemark, no-op, memory checkpoints";
  static final String NO_OP = "(b) Tidemark, no-op stage";
  static final String SINK = "(c) Tidemark, P=8, 1 ms sink";
  static final List<String> CONSUMERS = List.of(BARE, ALPAKKA, NO_OP_MEMORY, NO_OP, SINK);
  static final int BATCH_SIZE = 1_000;
  static final int PROFILED_RUNS = 3;
  static final int WARM_UP_ROUNDS = 2;

  /** One consumer reading the events once. */
  record Run(String consumer, int round, long events, long openToFirstNanos, long firstToLastNanos, long cpuNanos, double sinkMillis) {
    double eventsPerSecond() {
      return (events - 1) * 1e9 / firstToLastNanos;
    }

    double cpuMicrosPerEvent() {
      return cpuNanos / 1e3 / events;
    }
  }

  /** What a run reads beside the time at its first and its last event (nothing, unless a benchmark asks for more). */
  interface Meter {
    long[] read();
  }

  /** Times one run: when it opened, its first event, and the event that reaches the target. */
  static final class Clock {
    final long target;
    final long opened = System.nanoTime();
    final long cpuAtOpen = CpuProfile.processCpuNanos();
    final AtomicLong count = new AtomicLong();
    final CompletableFuture<Long> reached = new CompletableFuture<>();
    private final Meter meter;
    volatile long first;
    volatile long cpuAtEnd;
    volatile long[] meteredAtFirst;
    volatile long[] meteredAtEnd;

    Clock(long target) {
      this(target, () -> new long[0]);
    }

    Clock(long target, Meter meter) {
      this.target = target;
      this.meter = meter;
    }

    void onEvent() {
      long n = count.incrementAndGet();
      if (n == 1) {
        meteredAtFirst = meter.read();
        first = System.nanoTime();
      }
      if (n == target) {
        long now = System.nanoTime();
        cpuAtEnd = CpuProfile.processCpuNanos();
        meteredAtEnd = meter.read();
        reached.complete(now);
      }
    }

    Run await(String consumer, int round) throws Exception {
      long last = reached.get(10, TimeUnit.MINUTES);
      return new Run(consumer, round, target, first - opened, last - first, cpuAtEnd - cpuAtOpen, Double.NaN);
    }
  }

  /** (a): the driver's change-stream publisher, subscribed with unbounded demand, counting. */
  static Run bare(String uri, BsonTimestamp from, int events, int round) throws Exception {
    return bare(new Clock(events), uri, from, round);
  }

  static Run bare(Clock clock, String uri, BsonTimestamp from, int round) throws Exception {
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

  /** (a′): Alpakka's MongoSource over the same publisher, counting in a {@code Sink.foreach}: Akka Streams without Tidemark. */
  static Run alpakka(ActorSystem<?> system, String uri, BsonTimestamp from, int events, int round) throws Exception {
    return alpakka(new Clock(events), system, uri, from, round);
  }

  static Run alpakka(Clock clock, ActorSystem<?> system, String uri, BsonTimestamp from, int round) throws Exception {
    try (MongoClient client = MongoClients.create(uri)) {
      var publisher = client.getDatabase(BenchEvents.DATABASE).getCollection(BenchEvents.COLLECTION)
          .watch()
          .batchSize(BATCH_SIZE)
          .maxAwaitTime(1, TimeUnit.SECONDS)
          .startAtOperationTime(from);
      CompletionStage<Done> done = MongoSource.create(publisher).take(clock.target).runWith(Sink.foreach(event -> clock.onEvent()), system);
      Run run = clock.await(ALPAKKA, round);
      done.toCompletableFuture().get(1, TimeUnit.MINUTES);
      return run;
    }
  }

  /** (b), (b′) and (c): a pipeline from the same position, a fresh stream name per run (so no stored checkpoint). */
  static Run pipeline(String consumer, ActorSystem<?> system, CheckpointStore store, String uri, BsonTimestamp from, int events,
      int round, boolean sink, Executor sinkDelay) throws Exception {
    return pipeline(new Clock(events), consumer, system, store, uri, from, round, sink, sinkDelay);
  }

  static Run pipeline(Clock clock, String consumer, ActorSystem<?> system, CheckpointStore store, String uri, BsonTimestamp from,
      int round, boolean sink, Executor sinkDelay) throws Exception {
    String stream = (sink ? "e2e-sink-" : "e2e-noop-") + round + "-" + Long.toHexString(System.nanoTime());
    LongAdder sinkNanos = new LongAdder();
    var builder = Pipeline.named(stream)
        .mongoUri(uri)
        .collection(BenchEvents.DATABASE, BenchEvents.COLLECTION)
        .startAtOperationTime(from)
        .checkpoints(store);
    PipelineControl control = sink
        ? builder.parallelism(8)
            .mapAsync(event -> {
              long start = System.nanoTime();
              return CompletableFuture.supplyAsync(Done::getInstance, sinkDelay).thenApply(done -> {
                sinkNanos.add(System.nanoTime() - start);
                return done;
              });
            })
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
      Run run = clock.await(consumer, round);
      return sink ? new Run(run.consumer(), run.round(), run.events(), run.openToFirstNanos(), run.firstToLastNanos(), run.cpuNanos(),
          sinkNanos.sum() / 1e6 / clock.count.get()) : run;
    } finally {
      control.drainAndStop().toCompletableFuture().get(2, TimeUnit.MINUTES);
    }
  }

  static void run(int events, int rounds) throws Exception {
    double loadBefore = Report.loadAverage();
    System.out.printf("== e2e: %,d pre-written events read by (a) a bare driver watch(), (a') Alpakka's MongoSource, (b') Tidemark%n"
        + "   with a no-op stage and memory checkpoints, (b) the same with H2 checkpoints, (c) Tidemark with P=8 and a 1 ms sink;%n"
        + "   %d rounds, alternating%n", events, rounds);
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
        System.out.printf("warm-up: %d rounds, (c) on %,d events%n", WARM_UP_ROUNDS, Math.min(events, 5_000));
        for (int round = 1 - WARM_UP_ROUNDS; round <= 0; round++) {
          for (String consumer : CONSUMERS) print(consume(consumer, system, store, uri, from, consumer.equals(SINK) ? Math.min(events, 5_000) : events, round, sinkDelay));
        }
        for (int round = 1; round <= rounds; round++) {
          for (String consumer : CONSUMERS) runs.add(print(consume(consumer, system, store, uri, from, events, round, sinkDelay)));
        }
        System.out.printf("profiling %d more runs of (a) and of (b) with Java Flight Recorder%n", PROFILED_RUNS);
        CpuProfile.record("warm-up", () -> {});
        bareProfile = CpuProfile.record("bare", () -> {
          for (int i = 1; i <= PROFILED_RUNS; i++) print(bare(uri, from, events, rounds + i));
        });
        pipelineProfile = CpuProfile.record("tidemark", () -> {
          for (int i = 1; i <= PROFILED_RUNS; i++) print(pipeline(NO_OP, system, store, uri, from, events, rounds + i, false, sinkDelay));
        });
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().get(1, TimeUnit.MINUTES);
      }
    }
    String md = markdown(events, rounds, runs, bareProfile, pipelineProfile, Report.conditions(loadBefore, Report.loadAverage()));
    chart(runs);
    Report.writeSection("e2e", md);
    System.out.println(md);
  }

  private static Run consume(String consumer, ActorSystem<?> system, CheckpointStore h2, String uri, BsonTimestamp from, int events,
      int round, Executor sinkDelay) throws Exception {
    return switch (consumer) {
      case BARE -> bare(uri, from, events, round);
      case ALPAKKA -> alpakka(system, uri, from, events, round);
      case NO_OP_MEMORY -> pipeline(consumer, system, InMemoryCheckpointStore.create(), uri, from, events, round, false, sinkDelay);
      case NO_OP -> pipeline(consumer, system, h2, uri, from, events, round, false, sinkDelay);
      case SINK -> pipeline(consumer, system, h2, uri, from, events, round, true, sinkDelay);
      default -> throw new IllegalArgumentException(consumer);
    };
  }

  private static Run print(Run run) {
    System.out.printf(Locale.ROOT, "round %d %-42s %,9.0f events/s  (opened to first event %,d ms, %,d events in %,d ms, CPU %.1f µs/event%s)%n",
        run.round(), run.consumer(), run.eventsPerSecond(), run.openToFirstNanos() / 1_000_000, run.events(),
        run.firstToLastNanos() / 1_000_000, run.cpuMicrosPerEvent(),
        Double.isNaN(run.sinkMillis()) ? "" : String.format(Locale.ROOT, ", the 1 ms sink took %.2f ms", run.sinkMillis()));
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

  static double median(List<Run> runs, String consumer) {
    return rates(runs, consumer).median();
  }

  static String markdown(int events, int rounds, List<Run> runs, CpuProfile.Summary bare, CpuProfile.Summary pipeline, String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## End to end in one JVM: Tidemark against a bare driver `watch()`, the server in the same process\n\n");
    md.append(String.format(Locale.ROOT,
        "Command: `mvn -B -Pbench test-compile exec:exec -Dbench=e2e-in-process [-Dbench.events=%d] [-Dbench.rounds=%d]`. `EndToEndBenchmark`:%n", events, rounds));
    md.append(String.format(Locale.ROOT,
        "%,d inserts pre-written to the embedded MongoDB (in memory, in the same JVM), then read from the first of them%n", events));
    md.append("(`startAtOperationTime`, batches of 1,000) by each consumer in turn, one after the other in each round, after\n");
    md.append(String.format(Locale.ROOT, "%d warm-up rounds: **(a)** the reactive-streams driver's `watch()` publisher, subscribed with unbounded demand,%n",
        WARM_UP_ROUNDS));
    md.append("only counting; **(b)** a Tidemark pipeline (`Pipeline.named(...)` with the default window and throttle: 1,000 events\n");
    md.append("in flight, a checkpoint every 1,000 events or 1 s) with a no-op stage, checkpointing to an H2 file through\n");
    md.append("akka-persistence-jdbc as the embedded default does; **(c)** the same with `parallelism(8)` and a `mapAsync` sink that\n");
    md.append("completes each event after 1 ms. Two more consumers split the difference between (a) and (b): **(a′)** Alpakka's\n");
    md.append("`MongoSource` over the same publisher into a counting `Sink.foreach` (Akka Streams, no Tidemark), and **(b′)** (b) with\n");
    md.append("`InMemoryCheckpointStore`. Events per second are counted from the first event to the last; the start-up (client,\n");
    md.append("checkpoint record and epoch, opening the stream) is the column apart. CPU is the whole process's per event (the\n");
    md.append("embedded server's included: it shares the 2 cores). Target: b/a ≥ 0.95.\n\n");
    md.append(conditions).append(" The spread is wide: compare the consumers within a round (the table below) rather than\n");
    md.append("across runs.\n\n");
    md.append("| consumer | events/s, median | spread (min–max) | start-up to first event, median | CPU per event, median |\n");
    md.append("|---|---|---|---|---|\n");
    for (String consumer : CONSUMERS) {
      Stats rate = rates(runs, consumer);
      Stats startUp = of(runs, consumer, r -> r.openToFirstNanos() / 1e6);
      Stats cpu = of(runs, consumer, Run::cpuMicrosPerEvent);
      md.append(String.format(Locale.ROOT, "| %s | %,.0f | %,.0f – %,.0f | %,.0f ms | %.1f µs |%n",
          consumer, rate.median(), rate.min(), rate.max(), startUp.median(), cpu.median()));
    }
    double ratio = median(runs, NO_OP) / median(runs, BARE);
    Stats paired = pairedRatios(runs);
    Stats sinkMillis = of(runs, SINK, Run::sinkMillis);
    md.append(String.format(Locale.ROOT,
        "%n**b/a = %.2f** (of the medians; %.2f to %.2f round by round): the target of 0.95 is **%s**. Step by step:%n"
            + "a′/a = %.2f (Akka Streams and Alpakka's source), b′/a′ = %.2f (Tidemark's source, window, lanes and checkpointer, with%n"
            + "checkpoints in memory), b/b′ = %.2f (checkpoints in H2 instead of memory).%n%n",
        ratio, paired.min(), paired.max(), ratio >= 0.95 ? "met" : "missed",
        median(runs, ALPAKKA) / median(runs, BARE), median(runs, NO_OP_MEMORY) / median(runs, ALPAKKA),
        median(runs, NO_OP) / median(runs, NO_OP_MEMORY)));
    md.append(String.format(Locale.ROOT,
        "(c): the \"1 ms\" sink took %.2f ms per event on average here (timer granularity and a busy machine), so 8 lanes%n"
            + "could do at most %,.0f events/s; (c) reached %,.0f, %.0f %% of that.%n%n",
        sinkMillis.median(), 8_000 / sinkMillis.median(), median(runs, SINK), 100 * median(runs, SINK) / (8_000 / sinkMillis.median())));
    md.append("Every round:\n\n| round | (a) | (a′) | (b′) | (b) | (c) | b/a |\n|---|---|---|---|---|---|---|\n");
    for (int round = 1; round <= rounds; round++) {
      int r = round;
      StringBuilder row = new StringBuilder("| " + round + " |");
      for (String consumer : CONSUMERS) {
        double rate = runs.stream().filter(x -> x.round() == r && x.consumer().equals(consumer)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
        row.append(String.format(Locale.ROOT, " %,.0f |", rate));
      }
      double a = runs.stream().filter(x -> x.round() == r && x.consumer().equals(BARE)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
      double b = runs.stream().filter(x -> x.round() == r && x.consumer().equals(NO_OP)).mapToDouble(Run::eventsPerSecond).findFirst().orElse(Double.NaN);
      md.append(row).append(String.format(Locale.ROOT, " %.2f |%n", b / a));
    }
    md.append("\n![events per second, end to end](img/e2e.svg)\n\n");
    md.append(String.format(Locale.ROOT,
        "**Where the CPU goes.** %d more runs of (a) and of (b), each set under a Java Flight Recorder recording (execution%n", PROFILED_RUNS));
    md.append("samples every 5 ms of the running threads; `CpuProfile`). A sample counts for the layer of its innermost frame\n");
    md.append("outside the JDK. Threads blocked in I/O or waiting are not sampled: this is CPU, not waiting. (The recording slows the\n");
    md.append("runs, the first one most: their rates are not in the tables above. Layers under 0.5 % in both are left out.)\n\n");
    md.append(String.format(Locale.ROOT, "| layer | (a) bare driver: share of %,d samples | (b) Tidemark: share of %,d samples |%n|---|---|---|%n",
        bare.samples(), pipeline.samples()));
    java.util.Set<String> layers = new java.util.LinkedHashSet<>(pipeline.layers().keySet());
    layers.addAll(bare.layers().keySet());
    for (String layer : layers) {
      long inBare = bare.layers().getOrDefault(layer, 0L);
      long inPipeline = pipeline.layers().getOrDefault(layer, 0L);
      if (inBare * 200 < bare.samples() && inPipeline * 200 < pipeline.samples()) continue; // under 0.5 % in both
      md.append(String.format(Locale.ROOT, "| %s | %s | %s |%n", layer,
          bare.percent(bare.layers().getOrDefault(layer, 0L)), pipeline.percent(pipeline.layers().getOrDefault(layer, 0L))));
    }
    md.append('\n');
    md.append("The hottest methods (innermost frame) under (b):\n\n");
    md.append(pipeline.topMethods(10));
    md.append('\n');
    md.append(EndToEndAnalysis.TEXT);
    return md.toString();
  }

  static void chart(List<Run> runs) throws java.io.IOException {
    List<Report.Bar> bars = new ArrayList<>();
    for (String consumer : CONSUMERS) {
      Stats rate = rates(runs, consumer);
      bars.add(new Report.Bar(consumer, rate.median(), consumer, rate.min(), rate.max()));
    }
    Report.barChart("e2e.svg", "End to end, events per second: median and min–max (higher is better)", "ev/s", bars);
  }
}
