package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.japi.Pair;
import akka.stream.Materializer;
import akka.stream.javadsl.Flow;
import akka.stream.javadsl.FlowWithContext;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import akka.stream.testkit.javadsl.StreamTestKit;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.Envelopes;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

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

  private List<Long> completions(FlowWithContext<ChangeEnvelope, EventContext, ?, EventContext, ?> userStages, long events)
      throws Exception {
    Flow<Pair<ChangeEnvelope, EventContext>, Pair<Object, EventContext>, ?> user =
        userStages.asFlow().map(out -> Pair.create((Object) out.first(), out.second()));
    return Source.from(LongStream.rangeClosed(1, events).mapToObj(Envelopes::insert).collect(Collectors.toList()))
        .via(CompletionTracker.create().join(user))
        .runWith(Sink.seq(), materializer)
        .toCompletableFuture()
        .get(10, TimeUnit.SECONDS);
  }

  @Test
  void everyEventCompletesInOrderWhenTheStagesPassEverythingThrough() throws Exception {
    assertThat(completions(FlowWithContext.<ChangeEnvelope, EventContext>create().map(ChangeEnvelope::seqNr), 50))
        .containsExactlyElementsOf(LongStream.rangeClosed(1, 50).boxed().collect(Collectors.toList()));
  }

  @Test
  void filteredEventsCompleteWithTheNextEventThatComesOut() throws Exception {
    var evenOnly = FlowWithContext.<ChangeEnvelope, EventContext>create().filter(e -> e.seqNr() % 2 == 0);
    assertThat(completions(evenOnly, 10)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L);
  }

  @Test
  void trailingFilteredEventsCompleteWhenTheStagesFinishAfterTheirInput() throws Exception {
    var firstThree = FlowWithContext.<ChangeEnvelope, EventContext>create().filter(e -> e.seqNr() <= 3);
    assertThat(completions(firstThree, 8)).containsExactly(1L, 2L, 3L, 4L, 5L, 6L, 7L, 8L);
  }

  @Test
  void repeatedContextsCompleteAnEventOnce() throws Exception {
    var twice = FlowWithContext.<ChangeEnvelope, EventContext>create().mapConcat(e -> List.of(e, e));
    assertThat(completions(twice, 5)).containsExactly(1L, 2L, 3L, 4L, 5L);
  }

  @Test
  void stagesThatStopEarlyLeaveTheRestUnfinished() throws Exception {
    Flow<Pair<ChangeEnvelope, EventContext>, Pair<ChangeEnvelope, EventContext>, ?> firstTwo =
        Flow.<Pair<ChangeEnvelope, EventContext>>create().take(2);
    var stopsEarly = FlowWithContext.<ChangeEnvelope, EventContext>create().via(firstTwo);
    assertThat(completions(stopsEarly, 10)).containsExactly(1L, 2L);
  }

}
