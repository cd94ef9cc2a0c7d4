package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import io.tidemark.Await;
import io.tidemark.ChangeWorkload;
import io.tidemark.Clusters;
import io.tidemark.TidemarkProcess;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.h2.tools.Server;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code tidemark run} as a cluster of three processes with four streams (one collection each, file
 * sinks), sharing one MongoDB and one checkpoint database. While a workload writes to all four
 * collections, the node running the most streams (two or more: four streams on three nodes) is
 * killed with SIGKILL. Its streams move to the other nodes, resume from their checkpoints and catch
 * up; the audit of every stream's files against its collection's change stream finds every event,
 * and events written twice within the replay bound (window N + checkpoint interval K per stream).
 */
class ServiceClusterProcessIT {
  private static final List<String> STREAMS = List.of("s1", "s2", "s3", "s4");
  private static final int WINDOW = 50;
  private static final int EVERY = 25;
  private static final int INSERTS = 1_200;


  @Test
  void theStreamsOfAKilledNodeMoveAndCatchUpWithNothingLost(@TempDir Path dir) throws Exception {
    assertThat(TidemarkProcess.JAR).as("built by mvn package").exists();
    Server h2 = Server.createTcpServer("-tcpPort", String.valueOf(Clusters.freePort()), "-baseDir", dir.toString(), "-ifNotExists").start();
    Map<Integer, Process> nodes = new LinkedHashMap<>(); // by management port
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = dir.resolve("app.conf");
      StringBuilder streams = new StringBuilder();
      for (String stream : STREAMS) {
        streams.append("""
              streams.%s {
                source { database = multi, collection = %s }
                format = relaxed-json
                sink { type = file, directory = "%s" }
              }
            """.formatted(stream, stream, dir.resolve("out-" + stream)));
      }
      Files.writeString(config, """
          tidemark {
            mongodb.uri = "%s"
            pipeline { window-size = %d, checkpoint.every-events = %d }
          %s}
          akka-persistence-jdbc.shared-databases.slick {
            profile = "slick.jdbc.H2Profile$"
            db { url = "jdbc:h2:tcp://127.0.0.1:%d/checkpoints", driver = "org.h2.Driver" }
          }
          """.formatted(mongo.connectionString(), WINDOW, EVERY, streams, h2.getPort()));
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);

      int seedPort = Clusters.freePort();
      for (int i = 0; i < 3; i++) {
        int port = i == 0 ? seedPort : Clusters.freePort();
        int management = Clusters.freePort();
        nodes.put(management, TidemarkProcess.start(dir.resolve("node-" + (i + 1) + ".log"), "run", "--config", config.toString(),
            "--port", String.valueOf(port), "--seed", "127.0.0.1:" + seedPort, "--management-port", String.valueOf(management)));
      }
      // Four streams on three nodes: every node runs one or two once the cluster has settled.
      Await.until(Duration.ofSeconds(120), () -> holders(nodes).keySet().containsAll(STREAMS) && Set.copyOf(holders(nodes).values()).size() == 3,
          () -> "every stream running, spread over the three nodes: " + holders(nodes) + TidemarkProcess.logs(dir, 2000));

      CompletableFuture<Void> workload = CompletableFuture.runAsync(() -> {
        for (int i = 0; i < INSERTS; i++) {
          for (String stream : STREAMS) client.getDatabase("multi").getCollection(stream).insertOne(new Document("_id", i));
        }
      });
      try {
        Await.until(Duration.ofSeconds(120), () -> STREAMS.stream().allMatch(stream -> TidemarkProcess.tokensWritten(dir.resolve("out-" + stream)).size() >= 150),
            () -> "150 lines written by every stream" + TidemarkProcess.logs(dir, 2000));
        Map<String, Integer> held = holders(nodes);
        Map<Integer, List<String>> byNode = new HashMap<>();
        held.forEach((stream, port) -> byNode.computeIfAbsent(port, p -> new ArrayList<>()).add(stream));
        int victim = byNode.entrySet().stream().max((a, b) -> a.getValue().size() - b.getValue().size()).orElseThrow().getKey();
        List<String> moved = byNode.get(victim);
        assertThat(moved).as("the node running the most of four streams on three nodes: %s", byNode).hasSize(2);
        System.out.printf("ServiceClusterProcessIT: streams by management port %s; killing %d (%s)%n", byNode, victim, moved);
        Process killed = nodes.remove(victim);
        killed.destroyForcibly(); // SIGKILL: no drain, no last checkpoint, no leaving
        killed.waitFor(30, TimeUnit.SECONDS);

        Await.until(Duration.ofSeconds(120), () -> holders(nodes).keySet().containsAll(STREAMS),
            () -> "the killed node's streams " + moved + " running again on the others: " + holders(nodes) + TidemarkProcess.logs(dir, 2000));
        System.out.printf("ServiceClusterProcessIT: after the kill, streams run on %s%n", holders(nodes));
      } finally {
        workload.get(180, TimeUnit.SECONDS); // the writes go on through the kill and the move
      }

      for (String stream : STREAMS) {
        MongoCollection<Document> collection = client.getDatabase("multi").getCollection(stream);
        Set<String> expected = ChangeWorkload.tokensSince(collection, before, collection.countDocuments());
        Await.until(Duration.ofSeconds(120), () -> new HashSet<>(TidemarkProcess.tokensWritten(dir.resolve("out-" + stream))).containsAll(expected),
            () -> "every event of " + stream + " written after the kill" + TidemarkProcess.logs(dir, 2000));
        List<String> lines = TidemarkProcess.tokensWritten(dir.resolve("out-" + stream));
        Map<String, Integer> times = new HashMap<>();
        lines.forEach(token -> times.merge(token, 1, Integer::sum));
        long duplicates = lines.size() - times.size();
        System.out.printf("ServiceClusterProcessIT: %s: %d events, %d lines, %d written twice (bound N + K = %d)%n",
            stream, expected.size(), lines.size(), duplicates, WINDOW + EVERY);
        assertThat(times.keySet()).as("%s: every event of its collection, nothing else", stream).isEqualTo(expected);
        assertThat(duplicates).as("%s: written again after the kill, at most N + K", stream).isLessThanOrEqualTo(WINDOW + EVERY);
      }
    } finally {
      for (Process node : nodes.values()) node.destroy();
      for (Process node : nodes.values()) {
        if (!node.waitFor(60, TimeUnit.SECONDS)) node.destroyForcibly();
      }
      h2.stop();
    }
  }

  /** Which node (by management port) runs each stream, from its start position, as the nodes' status endpoints say. */
  private static Map<String, Integer> holders(Map<Integer, Process> nodes) {
    Map<String, Integer> holders = new HashMap<>();
    for (int port : nodes.keySet()) TidemarkProcess.started(port).keySet().forEach(stream -> holders.put(stream, port));
    return holders;
  }
}
