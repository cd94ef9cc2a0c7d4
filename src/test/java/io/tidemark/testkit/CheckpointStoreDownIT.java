package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import io.tidemark.Await;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.StreamCheckpoints;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.window.WindowSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The checkpoint store down: the window holds (no checkpoint past the last saved token, the source
 * waits within the replay bound) and resumes when the store is back, each event once.
 */
class CheckpointStoreDownIT extends FaultsFixture {

  @Test
  void theCheckpointDatabaseDownForTenSecondsHoldsTheWindowAndResumes(@TempDir Path dir) throws Exception {
    int port;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      port = socket.getLocalPort();
    }
    Server h2 = startH2(port, dir);
    String url = "jdbc:h2:tcp://127.0.0.1:" + port + "/./checkpoints";
    ActorTestKit kit = ActorTestKit.create("faults-db-down",
        com.typesafe.config.ConfigFactory.parseString("tidemark.checkpoint.jdbc.ask-timeout = 1s")
            .withFallback(TestConfigs.journal(url, "slick.jdbc.H2Profile$", "org.h2.Driver", "sa", "")));
    try {
      JdbcCheckpointStore store = JdbcCheckpointStore.create(kit.system());
      await(store.ready());
      Received received = new Received();
      // The pipeline in the class's system, the journal in one of its own.
      PipelineControl control = start("db-down", "db-down", quiet(), store, received);
      started(control);
      insert("db-down", 0, 30);
      awaitIds(received, range(0, 30));
      awaitSavedToken(control, received.last().resumeToken());
      Checkpoint beforeOutage = control.stats().window().lastSaved();

      h2.stop();
      long saves = control.stats().window().saves();
      insert("db-down", 30, 100);
      // Down for ten seconds, long enough for several saves to time out (ask-timeout 1s): all the while nothing
      // may pass the last saved token, and the source must wait within the replay bound.
      WindowSettings window = WindowSettings.of(20, 5, Duration.ofMillis(100));
      AtomicInteger mostInFlight = new AtomicInteger();
      boolean brokeOut = Await.atMost(Duration.ofSeconds(10), () -> {
        mostInFlight.accumulateAndGet(control.stats().window().inFlight(), Math::max);
        return !beforeOutage.equals(control.stats().window().lastSaved()) || control.stats().window().admitted() - 30 > window.replayBound();
      });
      assertThat(brokeOut).as("no checkpoint past the last saved token, and no more admitted than the replay bound, while the store"
          + " is down; have " + control.stats().window().lastSaved() + ", admitted " + control.stats().window().admitted()).isFalse();
      assertThat(control.stats().window().saves()).isEqualTo(saves);
      assertThat(control.stats().window().admitted() - 30)
          .as("admitted past the last saved token during the outage: at most the replay bound, the source waited")
          .isLessThanOrEqualTo(window.replayBound())
          .isLessThan(70);
      assertThat(mostInFlight.get()).isLessThanOrEqualTo(20);

      h2 = startH2(port, dir);
      awaitIds(received, range(0, 100));
      awaitSavedToken(control, received.last().resumeToken());
      assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
      await(control.drainAndStop());
      StreamCheckpoints record = await(store.open("db-down"));
      assertThat(await(record.load()).orElseThrow().resumeToken()).isEqualTo(received.last().resumeToken());
      await(record.close());
    } finally {
      kit.shutdownTestKit();
      h2.stop();
    }
  }

  private static Server startH2(int port, Path dir) throws Exception {
    return Server.createTcpServer("-tcpPort", String.valueOf(port), "-ifNotExists", "-baseDir", dir.toString()).start();
  }
}
