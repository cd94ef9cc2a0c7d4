package io.tidemark;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * A real Kafka broker for the tests: Kafka 3.9.1 in KRaft mode (one node, broker and controller),
 * run in a JVM of its own with the classpath Maven wrote to {@code target/kafka-broker.classpath}
 * (its kafka-clients is not the one Alpakka Kafka needs), on free loopback ports. Clients reach it
 * through a {@link TcpProxy} (the broker advertises the proxy's port), so a test can cut their
 * connections; the broker's own traffic does not go through it, and a second listener
 * ({@link #directBootstrapServers()}) lets benchmarks skip the proxy. One broker per test JVM: it is
 * started by the first test that asks and stopped when the JVM exits.
 *
 * <p>KRaft in Kafka 2.8 had no transactions; 3.0 added the producer ids they need (KIP-730) but was a
 * preview until 3.3. 3.9 is the last release with both KRaft production-ready and the 3.x protocol
 * range, next to the 3.0.1 clients.
 */
public final class KafkaBroker {
  private static KafkaBroker shared;

  private final Process process;
  private final TcpProxy proxy;
  private final int direct;
  private final Path directory;

  private KafkaBroker(Process process, TcpProxy proxy, int direct, Path directory) {
    this.process = process;
    this.proxy = proxy;
    this.direct = direct;
    this.directory = directory;
  }

  /** The broker of this JVM, started on first use. */
  public static synchronized KafkaBroker shared() {
    if (shared == null) {
      shared = start();
      KafkaBroker started = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(started::stop, "kafka-broker-stop"));
    }
    return shared;
  }

  /** Where clients connect (the proxy). */
  public String bootstrapServers() {
    return "127.0.0.1:" + proxy.port();
  }

  /** Where clients connect without the proxy (for benchmarks: the proxy costs CPU; nothing can cut these connections). */
  public String directBootstrapServers() {
    return "127.0.0.1:" + direct;
  }

  /** Closes every client connection to the broker now, and refuses new ones for {@code outage}; returns how many it closed. */
  public int cutConnections(Duration outage) {
    return proxy.cut(outage);
  }

  public Admin admin() {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
  }

  /**
   * Creates a topic (a test's own; no-op when it exists) and waits until every partition's leader
   * answers for it: a 3.0 client writing to a partition its leader has not set up yet retries until
   * its delivery timeout.
   */
  public void createTopic(String name, int partitions, Map<String, String> configs) {
    try (Admin admin = admin()) {
      try {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs))).all().get(30, TimeUnit.SECONDS);
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) throw new IllegalStateException(e.getCause());
      }
      Map<TopicPartition, OffsetSpec> ends = new java.util.HashMap<>();
      for (int partition = 0; partition < partitions; partition++) ends.put(new TopicPartition(name, partition), OffsetSpec.latest());
      Await.until(Duration.ofSeconds(30), () -> {
        try {
          admin.listOffsets(ends).all().get(5, TimeUnit.SECONDS);
          return true;
        } catch (Exception notYet) {
          return false;
        }
      }, () -> "the partitions of " + name + " answering");
    } catch (InterruptedException | java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException("could not create topic " + name, e);
    }
  }

  private static KafkaBroker start() {
    Path classpathFile = Path.of("target", "kafka-broker.classpath");
    if (!Files.exists(classpathFile)) {
      throw new IllegalStateException(classpathFile + " is missing: the Kafka tests run through Maven (mvn verify), whose"
          + " generate-test-resources phase resolves the broker and writes its classpath there");
    }
    try {
      String classpath = Files.readString(classpathFile).trim();
      Path directory = Path.of("target", "kafka-broker", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-SSS")))
          .toAbsolutePath();
      Files.createDirectories(directory);
      int controller = Clusters.freePort();
      int internal = Clusters.freePort();
      int external = Clusters.freePort();
      int direct = Clusters.freePort();
      TcpProxy proxy = new TcpProxy(0, external);
      Properties config = new Properties();
      config.put("process.roles", "broker,controller");
      config.put("node.id", "1");
      config.put("controller.quorum.voters", "1@127.0.0.1:" + controller);
      config.put("listeners", "INTERNAL://127.0.0.1:" + internal + ",EXTERNAL://127.0.0.1:" + external + ",DIRECT://127.0.0.1:" + direct
          + ",CONTROLLER://127.0.0.1:" + controller);
      config.put("advertised.listeners", "INTERNAL://127.0.0.1:" + internal + ",EXTERNAL://127.0.0.1:" + proxy.port()
          + ",DIRECT://127.0.0.1:" + direct);
      config.put("listener.security.protocol.map", "INTERNAL:PLAINTEXT,EXTERNAL:PLAINTEXT,DIRECT:PLAINTEXT,CONTROLLER:PLAINTEXT");
      config.put("inter.broker.listener.name", "INTERNAL");
      config.put("controller.listener.names", "CONTROLLER");
      config.put("log.dirs", directory.resolve("data").toString());
      config.put("num.partitions", "1");
      config.put("default.replication.factor", "1");
      config.put("offsets.topic.replication.factor", "1");
      config.put("offsets.topic.num.partitions", "1");
      config.put("transaction.state.log.replication.factor", "1");
      config.put("transaction.state.log.min.isr", "1");
      config.put("transaction.state.log.num.partitions", "2");
      config.put("group.initial.rebalance.delay.ms", "0");
      config.put("num.network.threads", "2");
      config.put("num.io.threads", "2");
      config.put("background.threads", "2");
      config.put("log.cleaner.threads", "1");
      config.put("log.cleaner.dedupe.buffer.size", String.valueOf(8 * 1024 * 1024));
      Path properties = directory.resolve("server.properties");
      try (var out = Files.newBufferedWriter(properties)) {
        config.store(out, "Tidemark test broker");
      }
      Path log = directory.resolve("broker.log");
      List<String> jvm = TidemarkProcess.jvm("-Xms128m", "-Xmx768m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn");
      jvm.addAll(List.of("-cp", classpath));

      Process format = new ProcessBuilder(concat(jvm, "kafka.tools.StorageTool", "format",
          // One argument with '=': a random id starts with '-' one time in 64, and would be read as an option.
          "--cluster-id=" + Uuid.randomUuid(),
          "-c", properties.toString()))
          .redirectErrorStream(true).redirectOutput(directory.resolve("format.log").toFile()).start();
      if (!format.waitFor(120, TimeUnit.SECONDS) || format.exitValue() != 0) {
        format.destroyForcibly();
        throw new IllegalStateException("formatting the broker's storage failed: " + Files.readString(directory.resolve("format.log")));
      }
      Process broker = new ProcessBuilder(concat(jvm, "kafka.Kafka", properties.toString()))
          .redirectErrorStream(true).redirectOutput(log.toFile()).start();
      KafkaBroker started = new KafkaBroker(broker, proxy, direct, directory);
      started.awaitReady(log);
      return started;
    } catch (IOException e) {
      throw new IllegalStateException("could not start the Kafka broker", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private void awaitReady(Path log) throws IOException {
    long deadline = System.nanoTime() + Duration.ofSeconds(120).toNanos();
    while (true) {
      if (!process.isAlive()) throw new IllegalStateException("the Kafka broker exited: " + Files.readString(log));
      try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
          AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 2000, AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2000))) {
        if (!admin.describeCluster().nodes().get(3, TimeUnit.SECONDS).isEmpty()) return;
      } catch (Exception notYet) {
        if (System.nanoTime() > deadline) {
          stop();
          throw new IllegalStateException("the Kafka broker did not answer within 120 s; its log: " + log);
        }
      }
    }
  }

  private static List<String> concat(List<String> jvm, String... args) {
    List<String> all = new java.util.ArrayList<>(jvm);
    all.addAll(List.of(args));
    return all;
  }

  private void stop() {
    proxy.close();
    process.destroy();
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) process.destroyForcibly();
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return "KafkaBroker(" + bootstrapServers() + ", " + directory + ")";
  }
}
