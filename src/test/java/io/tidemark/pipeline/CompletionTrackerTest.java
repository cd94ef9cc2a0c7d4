package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.japi.Pair;
import akka.stream.Attributes;
import akka.stream.FlowShape;
import akka.stream.Inlet;
import akka.stream.Materializer;
import akka.stream.Outlet;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.FlowWithContext;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.stage.AbstractInHandler;
import akka.stream.stage.AbstractOutHandler;
import akka.stream.stage.GraphStage;
import akka.stream.stage.GraphStageLogic;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.StreamTestKit;
import akka.stream.testkit.javadsl.TestSink;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import io.tidemark.window.Completion;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** When a lane's events are done, for every shape of stages the builder offers. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CompletionTrackerTest {
  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterEach
  void allStagesStopped() {
    StreamTestKit.assertAllStagesStopped(materializer);
  }

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private List<Completion> completions(PipelineBuilder<?> stages, long events) throws Exception {
    return Source.from(LongStream.rangeClosed(1, events).mapToObj(Envelopes::insert).collect(Collectors.toList()))
        .via(CompletionTracker.create(RunContext.of("tracker")).join(stages.userStages()))
        .runWith(Sink.seq(), materializer)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  private static List<Long> done(List<Completion> completions) {
    return completions.stream().filter(c -> !c.isFailure()).map(Completion::seqNr).toList();
  }

  private static List<Long> oneTo(long n) {
    return LongStream.rangeClosed(1, n).boxed().collect(Collectors.toList());
  }

  @Test
  void everyEventCompletesInOrderWhenTheStagesPassEverythingThrough() throws Exception {
    assertThat(done(completions(Pipeline.named("t").map(ChangeEnvelope::seqNr), 50))).isEqualTo(oneTo(50));
  }

  @Test
  void aFilteredEventIsDoneWhenItsSkipLeavesNotWhenALaterEventComesOut() throws Exception {
    assertThat(done(completions(Pipeline.named("t").filter(e -> e.seqNr() % 2 == 0), 10))).isEqualTo(oneTo(10));
    assertThat(done(completions(Pipeline.named("t").filter(e -> false).map(e -> e), 10))).isEqualTo(oneTo(10));
  }

  @Test
  void aFannedOutEventIsDoneOnceItsLastElementLeaves() throws Exception {
    var stages = Pipeline.named("t").mapConcat(e -> List.of(e, e, e)).mapConcat(e -> List.of(e, e)).filter(e -> true);
    assertThat(done(completions(stages, 5))).isEqualTo(oneTo(5));
    assertThat(done(completions(Pipeline.named("t").mapConcat(e -> e.seqNr() % 2 == 0 ? List.of() : List.of(e, e)), 6)))
        .isEqualTo(oneTo(6));
  }

  @Test
  void aBatchCompletesEveryEventItHolds() throws Exception {
    var stages = Pipeline.named("t").filter(e -> e.seqNr() != 4).grouped(3, Duration.ofSeconds(30)).map(List::size);
    assertThat(done(completions(stages, 10))).isEqualTo(oneTo(10));
  }

  /**
   * A batch completes two events while the window is not asking, and the stages end meanwhile: the
   * tracker must hand over both completions and then end normally, not pull the closed lane (which
   * failed the run at its very end with "Cannot pull closed port").
   */
  @Test
  void theStagesEndingWhileABatchsCompletionsWaitForTheWindowEndsTheTrackerNormally() {
    var stages = Pipeline.named("t").grouped(2, Duration.ofSeconds(30)).map(List::size);
    TestSubscriber.Probe<Completion> window = Source.from(LongStream.rangeClosed(1, 2).mapToObj(Envelopes::insert).collect(Collectors.toList()))
        .via(CompletionTracker.create(RunContext.of("tracker")).join(stages.userStages()))
        .runWith(TestSink.probe(testKit.system().classicSystem()), materializer);
    window.request(1);
    assertThat(window.expectNext().seqNr()).isEqualTo(1L);
    // One fused island: the stages' end reached the tracker before completion 1 left it; completion 2 waits for demand.
    window.request(1);
    assertThat(window.expectNext().seqNr()).isEqualTo(2L);
    window.expectComplete();
  }

  @Test
  void aFailingStageReportsTheFailureInOrderAndNothingAfterItIsDone() throws Exception {
    var stages = Pipeline.named("t").mapAsync(e -> e.seqNr() == 4
        ? CompletableFuture.failedFuture(new IllegalStateException("boom"))
        : CompletableFuture.completedFuture(e));
    List<Completion> completions = completions(stages, 8);
    assertThat(done(completions)).containsExactly(1L, 2L, 3L);
    assertThat(completions).filteredOn(Completion::isFailure).singleElement()
        .satisfies(failed -> assertThat(failed.seqNr()).isEqualTo(4L))
        .satisfies(failed -> assertThat(failed.failure()).hasMessage("boom"));
  }

  /**
   * A skip made before the run began stopping (another lane failed) can come out after an element
   * abandoned since: the filter dropped event 3 while event 2 waited behind the slow write of
   * event 1. Event 2 was never written, so the skip of 3 must not complete it (nor 3, past it).
   */
  @Test
  void nothingAfterAnAbandonedElementIsDoneNotEvenASkipMadeBeforeTheRunBeganStopping() throws Exception {
    RunContext run = RunContext.of("tracker");
    CompletableFuture<Object> firstWrite = new CompletableFuture<>();
    var stages = Pipeline.named("t")
        .filter(e -> {
          if (e.seqNr() == 3) {
            // Event 2 waits in the map stage behind the write of event 1: another lane fails now, and the write ends.
            run.abandon(new IllegalStateException("another lane failed"));
            firstWrite.complete(e);
          }
          return e.seqNr() != 3;
        })
        .map(e -> e)
        .mapAsync(e -> e.seqNr() == 1 ? firstWrite : CompletableFuture.completedFuture(e));
    List<Completion> completions = Source.from(LongStream.rangeClosed(1, 5).mapToObj(Envelopes::insert).collect(Collectors.toList()))
        .via(CompletionTracker.create(run).join(stages.userStages()))
        .runWith(Sink.seq(), materializer)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
    assertThat(done(completions)).containsExactly(1L);
  }

  @Test
  void viaRefusesOperatorsThatAreNotOneToOneNamingWhatToUseInstead() {
    var base = FlowWithContext.<ChangeEnvelope, EventContext>create();
    assertRefused(base.filter(e -> true), "filter/collect drops elements: use filter(...)");
    assertRefused(base.mapConcat(e -> List.of(e)), "mapConcat emits several elements for one: use mapConcat(...)");
    assertRefused(base.grouped(3).map(List::size).mapContext(contexts -> contexts.get(contexts.size() - 1)), "grouped joins elements");
    assertRefused(base.via(Flow.<Pair<ChangeEnvelope, EventContext>>create().mapAsyncUnordered(4, CompletableFuture::completedFuture)),
        "mapAsyncUnordered(4)");
    assertRefused(base.via(Flow.<Pair<ChangeEnvelope, EventContext>>create().take(3)), "take ends the stream");
    // One to one: accepted.
    Pipeline.named("t").via(base.map(ChangeEnvelope::seqNr).mapAsync(1, CompletableFuture::completedFuture).map(n -> n + 1));
  }

  private static void assertRefused(FlowWithContext<ChangeEnvelope, EventContext, ?, EventContext, ?> flow, String message) {
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> Pipeline.named("refusing").via(flow))
        .isInstanceOf(StageContractException.class)
        .hasMessageContaining("stage 1 (via) of stream 'refusing'")
        .hasMessageContaining(message);
  }

  /** A stage Akka does not know as a fan-out: emits each element twice. */
  private static final class Twice extends GraphStage<FlowShape<Pair<ChangeEnvelope, EventContext>, Pair<ChangeEnvelope, EventContext>>> {
    final Inlet<Pair<ChangeEnvelope, EventContext>> in = Inlet.create("in");
    final Outlet<Pair<ChangeEnvelope, EventContext>> out = Outlet.create("out");

    @Override
    public FlowShape<Pair<ChangeEnvelope, EventContext>, Pair<ChangeEnvelope, EventContext>> shape() {
      return FlowShape.of(in, out);
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new GraphStageLogic(shape()) {
        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              Pair<ChangeEnvelope, EventContext> element = grab(in);
              emitMultiple(out, List.of(element, element).iterator());
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              if (!hasBeenPulled(in)) pull(in);
            }
          });
        }
      };
    }
  }

  /** A stage Akka does not know as a filter: drops every third element. */
  private static final class DropsEveryThird extends GraphStage<FlowShape<Pair<ChangeEnvelope, EventContext>, Pair<ChangeEnvelope, EventContext>>> {
    final Inlet<Pair<ChangeEnvelope, EventContext>> in = Inlet.create("in");
    final Outlet<Pair<ChangeEnvelope, EventContext>> out = Outlet.create("out");

    @Override
    public FlowShape<Pair<ChangeEnvelope, EventContext>, Pair<ChangeEnvelope, EventContext>> shape() {
      return FlowShape.of(in, out);
    }

    @Override
    public GraphStageLogic createLogic(Attributes attributes) {
      return new GraphStageLogic(shape()) {
        {
          setHandler(in, new AbstractInHandler() {
            @Override
            public void onPush() {
              Pair<ChangeEnvelope, EventContext> element = grab(in);
              if (element.first().seqNr() % 3 == 0) pull(in);
              else push(out, element);
            }
          });
          setHandler(out, new AbstractOutHandler() {
            @Override
            public void onPull() {
              pull(in);
            }
          });
        }
      };
    }
  }

  @Test
  void aStageOfItsOwnThatDropsAnElementStopsTheRunAtTheFirstOneItDrops() throws Exception {
    var stages = Pipeline.named("t").via(FlowWithContext.<ChangeEnvelope, EventContext>create().via(Flow.fromGraph(new DropsEveryThird())));
    List<Completion> completions = completions(stages, 6);
    assertThat(done(completions)).containsExactly(1L, 2L);
    assertThat(completions).filteredOn(Completion::isFailure).singleElement()
        .satisfies(failed -> assertThat(failed.failure()).isInstanceOf(StageContractException.class)
            .hasMessageContaining("dropped the element of event #3"));
  }

  @Test
  void aStageOfItsOwnThatRepeatsAnElementStopsTheRun() throws Exception {
    var stages = Pipeline.named("t").via(FlowWithContext.<ChangeEnvelope, EventContext>create().via(Flow.fromGraph(new Twice())));
    List<Completion> completions = completions(stages, 4);
    assertThat(completions).filteredOn(Completion::isFailure).singleElement()
        .satisfies(failed -> assertThat(failed.failure()).isInstanceOf(StageContractException.class)
            .hasMessageContaining("emitted a second element for event #1"));
  }
}
