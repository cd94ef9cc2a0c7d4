package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import akka.NotUsed;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.Materializer;
import akka.stream.javadsl.Source;
import akka.stream.testkit.TestSubscriber;
import akka.stream.testkit.javadsl.StreamTestKit;
import akka.stream.testkit.javadsl.TestSink;
import com.mongodb.MongoSocketReadException;
import com.mongodb.ServerAddress;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Await;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The change-stream source over a made-up stream that fails when the test says so: a reopen goes
 * on exactly after the last event that left the reopening source, whatever still holds it on its
 * way (the heartbeat merge), so nothing is repeated and nothing skipped.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ChangeStreamSourceTest {
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

  /** Events 0..n-1; each open goes on after the position it is given; the first one fails when told. */
  private static final class MadeUpStream implements ChangeStreamSource.Opener {
    final List<ChangeStreamDocument<Document>> events = new ArrayList<>();
    final List<ResumePosition> opened = new CopyOnWriteArrayList<>();
    final CompletableFuture<ChangeStreamDocument<Document>> firstFails = new CompletableFuture<>();

    MadeUpStream(int n) {
      for (int i = 0; i < n; i++) events.add(Envelopes.document(i, "k" + i));
    }

    @Override
    public Source<ChangeStreamDocument<Document>, NotUsed> open(ResumePosition position, List<org.bson.conversions.Bson> pipeline) {
      opened.add(position);
      int from = position instanceof ResumePosition.ResumeAfter resume ? (int) Envelopes.index(resume.token()) + 1 : 0;
      Source<ChangeStreamDocument<Document>, NotUsed> events =
          Source.from(this.events.subList(from, this.events.size())).concat(Source.never());
      // The first cursor fails when the test says, whether or not anyone is asking for events (as a getMore does).
      return opened.size() == 1 ? events.merge(Source.completionStage(firstFails)) : events;
    }
  }

  private static ChangeStreamSource.Definition definition(boolean heartbeats) {
    return definition(heartbeats, Duration.ofSeconds(30), (after, pipeline, fullDocument) -> Optional.<BsonDocument>empty());
  }

  private static ChangeStreamSource.Definition definition(boolean heartbeats, Duration interval, PositionProbe probe) {
    var config = ConfigFactory.load();
    return new ChangeStreamSource.Definition(
        "made-up", null, ChangeStreamTarget.collection("test", "c"), List.of(), null,
        SourceSettings.create(config).withRestartBackoff(Duration.ofMillis(1), Duration.ofMillis(2)),
        FaultSettings.defaults().heartbeat(heartbeats, interval),
        () -> CompletableFuture.completedFuture(ResumePosition.startAtOperationTime(new BsonTimestamp(1_600_000_000, 1))),
        ResumableErrors::isResumable, null, probe,
        SnapshotSettings.create(config), new SnapshotProgress());
  }

  /**
   * While a stream is quiet, other collections' writes turn the oplog over: its last event leaves the oplog, and
   * a cursor reopened after it would fail with ChangeStreamHistoryLost (286), though the heartbeats had the stream
   * at newer positions. A reopen goes on after the newest heartbeat delivered since the last event.
   */
  @Test
  void aQuietStreamReopensAfterItsNewestHeartbeatNotAfterItsLastEvent() {
    MadeUpStream stream = new MadeUpStream(1);
    java.util.concurrent.atomic.AtomicInteger beats = new java.util.concurrent.atomic.AtomicInteger();
    PositionProbe oplogMovesOn = (after, pipeline, fullDocument) -> {
      int at = after instanceof ResumePosition.ResumeAfter resume ? (int) Envelopes.index(resume.token()) : -1;
      return at < 0 ? Optional.empty() : Optional.of(Envelopes.heartbeatToken(at, beats.incrementAndGet()));
    };
    TestSubscriber.Probe<StreamElement> probe = ChangeStreamSource.create(definition(true, Duration.ofMillis(10), oplogMovesOn), stream)
        .runWith(TestSink.probe(testKit.system().classicSystem()), materializer);

    probe.request(1);
    assertThat(Envelopes.index(((ChangeEnvelope) probe.expectNext()).resumeToken())).isEqualTo(0);
    probe.request(3);
    BsonDocument newest = null;
    for (int i = 0; i < 3; i++) newest = ((StreamElement.Heartbeat) probe.expectNext()).token();
    assertThat(Envelopes.beat(newest)).as("the heartbeats move on with the oplog").isGreaterThanOrEqualTo(3);

    stream.firstFails.completeExceptionally(new MongoSocketReadException("connection reset", new ServerAddress()));
    Await.until(Duration.ofSeconds(10), () -> stream.opened.size() == 2, () -> "the stream reopened, opened at " + stream.opened);
    ResumePosition reopened = stream.opened.get(1);
    assertThat(reopened).isInstanceOf(ResumePosition.ResumeAfter.class);
    BsonDocument token = ((ResumePosition.ResumeAfter) reopened).token();
    assertThat(Envelopes.index(token)).isEqualTo(0);
    assertThat(Envelopes.beat(token)).as("reopened after " + token.toJson() + ", not after the newest heartbeat " + newest.toJson())
        .isGreaterThanOrEqualTo(Envelopes.beat(newest));
    probe.cancel();
  }

  @ParameterizedTest(name = "heartbeats {0}")
  @ValueSource(booleans = {true, false})
  void aReopenGoesOnAfterTheLastEventThatLeftTheSourceNotTheLastOneNumbered(boolean heartbeats) {
    MadeUpStream stream = new MadeUpStream(6);
    TestSubscriber.Probe<StreamElement> probe =
        ChangeStreamSource.create(definition(heartbeats), stream).runWith(TestSink.probe(testKit.system().classicSystem()), materializer);

    probe.request(1);
    assertThat(Envelopes.index(((ChangeEnvelope) probe.expectNext()).resumeToken())).isEqualTo(0);
    // Nobody asks for more: the next event is on its way (in the heartbeat merge, when heartbeats are on).
    stream.firstFails.completeExceptionally(new MongoSocketReadException("connection reset", new ServerAddress()));
    Await.until(Duration.ofSeconds(10), () -> stream.opened.size() == 2, () -> "the stream reopened, opened at " + stream.opened);

    probe.request(10);
    List<Long> indexes = new ArrayList<>(List.of(0L));
    for (int i = 1; i < 6; i++) indexes.add(Envelopes.index(((ChangeEnvelope) probe.expectNext()).resumeToken()));
    assertThat(indexes).as("every event once, in order, across the reopen").containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
    probe.expectNoMessage(scala.concurrent.duration.FiniteDuration.create(100, TimeUnit.MILLISECONDS));
    probe.cancel();
  }
}
