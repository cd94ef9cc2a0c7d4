package io.tidemark.bench;

import akka.Done;
import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.typesafe.config.ConfigFactory;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.PipelineBenchmarks;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.window.WindowSettings;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of the safe-token window and its checkpointer: the same events, with the same user
 * work per event, through a bare {@code Flow.map} and through Tidemark's window and lanes at
 * parallelism 1, 8 and 64 (checkpoints to memory, every 1,000 events or 1 s). Two kinds of work:
 * almost none, and encoding the event as a sink storing it would. Reported in events per second;
 * the ratio to the baseline is the overhead.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
public class WindowBenchmark {
  static final int EVENTS = 100_000;

  @Param({"1", "8", "64"})
  public int parallelism;

  /** The user's work per event: {@code read-key} (almost nothing) or {@code encode-event} (what a sink that stores the event pays). */
  @Param({"read-key", "encode-event"})
  public String work;

  private ActorSystem<Void> system;
  private List<ChangeEnvelope> events;

  @Setup(Level.Trial)
  public void setUp() {
    system = ActorSystem.create(Behaviors.empty(), "bench", ConfigFactory.parseString("akka.loglevel = WARNING").withFallback(ConfigFactory.load()));
    events = new ArrayList<>(EVENTS);
    for (int i = 1; i <= EVENTS; i++) events.add(Envelopes.insert(i, "key-" + (i % 10_000)));
  }

  @TearDown(Level.Trial)
  public void tearDown() {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }

  /** The user's work per event, the same in both runs. */
  int work(ChangeEnvelope event) {
    if ("encode-event".equals(work)) return event.eventDocument().size();
    return event.documentKey().hashCode() ^ event.resumeToken().hashCode();
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public Done bareFlowMap() throws Exception {
    return Source.from(events).via(Flow.<ChangeEnvelope>create().map(this::work))
        .runWith(Sink.ignore(), system).toCompletableFuture().get(5, TimeUnit.MINUTES);
  }

  @Benchmark
  @OperationsPerInvocation(EVENTS)
  public Done windowAndCheckpointer() throws Exception {
    return PipelineBenchmarks.run(
            system, Source.from(events), WindowSettings.of(1000, 1000, Duration.ofSeconds(1)), parallelism, this::work,
            checkpoint -> CompletableFuture.completedFuture(Done.getInstance()))
        .toCompletableFuture().get(5, TimeUnit.MINUTES);
  }
}
