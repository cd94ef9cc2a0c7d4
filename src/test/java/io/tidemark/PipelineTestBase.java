package io.tidemark;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorSystem;
import akka.stream.Materializer;
import akka.stream.testkit.javadsl.StreamTestKit;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.PipelineControl;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.TestInstance;

/**
 * The base of the pipeline tests, as Alpakka Kafka's {@code KafkaTest} is of its tests: one actor
 * system per class; every pipeline a test starts through {@link #run} (or hands to {@link #track})
 * is drained after the test, whatever became of it, and then no stream stage may be left running
 * in the class's system ({@code StreamTestKit.assertAllStagesStopped}).
 *
 * <p>Only pipelines belong in that system: a JDBC checkpoint store's journal runs streams of its own
 * for as long as the system lives, so a test that needs one gives it an actor system of its own
 * ({@link #journalKit}).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
public abstract class PipelineTestBase {
  /** How long one pipeline may take to drain after a test. */
  protected static final Duration DRAIN_TIMEOUT = Duration.ofSeconds(30);

  protected final ActorTestKit testKit;
  private final List<PipelineControl> running = new CopyOnWriteArrayList<>();
  private final List<ActorTestKit> others = new CopyOnWriteArrayList<>();

  protected PipelineTestBase() {
    this(ConfigFactory.load());
  }

  protected PipelineTestBase(Config config) {
    testKit = ActorTestKit.create(getClass().getSimpleName(), config.withFallback(ConfigFactory.load()));
  }

  protected ActorSystem<Void> system() {
    return testKit.system();
  }

  /** Runs the pipeline in the class's actor system; it is drained after the test. */
  protected PipelineControl run(PipelineBuilder<?> pipeline) {
    return track(pipeline.run(testKit.system()));
  }

  /** Drains {@code control} after the test (a pipeline run elsewhere, in another system). */
  protected PipelineControl track(PipelineControl control) {
    running.add(control);
    return control;
  }

  /**
   * An actor system beside the class's, for the akka-persistence-jdbc journal {@code journal}
   * configures; shut down after the class.
   */
  protected ActorTestKit journalKit(Config journal) {
    ActorTestKit kit = ActorTestKit.create(getClass().getSimpleName() + "-journal", journal.withFallback(ConfigFactory.load()));
    others.add(kit);
    return kit;
  }

  @AfterEach
  void drainPipelinesAndAssertAllStagesStopped() throws Exception {
    List<PipelineControl> stopping = List.copyOf(running);
    running.clear();
    for (PipelineControl control : stopping) {
      control.drainAndStop().toCompletableFuture().exceptionally(error -> null).get(DRAIN_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    }
    StreamTestKit.assertAllStagesStopped(Materializer.matFromSystem(testKit.system()));
  }

  @AfterAll
  void shutdownActorSystems() {
    others.forEach(ActorTestKit::shutdownTestKit);
    testKit.shutdownTestKit();
  }
}
