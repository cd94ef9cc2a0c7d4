package io.tidemark.service;

import io.tidemark.cli.Main;
import io.tidemark.service.ServiceConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.cluster.typed.Cluster;
import akka.cluster.typed.Join;
import akka.management.javadsl.AkkaManagement;
import akka.stream.javadsl.FlowWithContext;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxyUtil;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.read.ListAppender;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoCollection;
import com.typesafe.config.Config;
import io.tidemark.Await;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.JournalSchema;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.pipeline.EventContext;
import io.tidemark.pipeline.Pipeline;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/**
 * Credentials are never logged. Every logger runs at DEBUG into a list while a pipeline and a node
 * run with a MongoDB URI and a JDBC password that carry a secret, and while they fail on a wrong
 * URI, a refused login and an unreachable database; the secret must appear in no log line, no stack
 * trace, no error message, no command output and no management endpoint's answer.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CredentialsNotLoggedIT {
  private static final String MONGO_SECRET = "s3cretMongoPass";
  private static final String JDBC_SECRET = "s3cretJdbcPass";
  private static final String TOKEN_SECRET = "s3cretSessionToken";
  /** The URI options that carry a credential, each with a secret, as a user would append them to a URI. */
  private static final List<String> CREDENTIAL_OPTIONS = List.of(
      "authMechanismProperties=AWS_SESSION_TOKEN:" + TOKEN_SECRET,
      "authmechanismproperties=SERVICE_NAME:mongodb,AWS_SESSION_TOKEN:" + TOKEN_SECRET,
      "tlsCertificateKeyFilePassword=" + TOKEN_SECRET,
      "sslClientCertificateKeyPassword=" + TOKEN_SECRET);
  private static final Path PRODUCTION = Path.of("conf", "production.conf").toAbsolutePath();
  private static final List<String> NOISY = List.of(
      org.slf4j.Logger.ROOT_LOGGER_NAME, "io.tidemark", "akka", "org.mongodb.driver", "slick", "com.zaxxer.hikari", "de.bwaldvogel");

  private final ListAppender<ILoggingEvent> captured = new ListAppender<>();
  private final Map<String, Level> levels = new HashMap<>();
  private final List<Appender<ILoggingEvent>> detached = new ArrayList<>();
  private final StringBuilder output = new StringBuilder();
  private EmbeddedMongo mongo;

  @BeforeAll
  void captureEverything() {
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) detached.add(it.next());
    detached.forEach(root::detachAppender); // DEBUG of every library would flood the console
    captured.setContext(context);
    captured.start();
    root.addAppender(captured);
    for (String name : NOISY) {
      Logger logger = context.getLogger(name);
      levels.put(name, logger.getLevel());
      logger.setLevel(Level.DEBUG);
    }
    mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
  }

  @BeforeEach
  void startAfresh() {
    output.setLength(0);
    synchronized (captured) {
      captured.list.clear();
    }
  }

  @AfterAll
  void restoreLogging() {
    if (mongo != null) mongo.close();
    LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    root.detachAppender(captured);
    detached.forEach(root::addAppender);
    levels.forEach((name, level) -> context.getLogger(name).setLevel(level));
  }

  /**
   * PLAIN: the embedded server accepts it with any password (it has no access control). With a
   * session token among the mechanism's properties too, which PLAIN does not use.
   */
  private String plainUri() {
    return "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:" + mongo.port() + "/?authMechanism=PLAIN&authSource=$external"
        + "&authMechanismProperties=AWS_SESSION_TOKEN:" + TOKEN_SECRET;
  }

  private Map<String, String> productionEnvironment(Path secrets, String mongoUri, String jdbcUrl) throws Exception {
    Map<String, String> env = new HashMap<>();
    env.put("TIDEMARK_MONGODB_URI_FILE", Files.writeString(secrets.resolve("mongodb-uri"), mongoUri + "\n").toString());
    env.put("TIDEMARK_JDBC_URL", jdbcUrl);
    env.put("TIDEMARK_JDBC_USER", "sa");
    env.put("TIDEMARK_JDBC_PASSWORD_FILE", Files.writeString(secrets.resolve("jdbc-password"), JDBC_SECRET + "\n").toString());
    env.put("TIDEMARK_REMOTE_HOST", "127.0.0.1");
    env.put("TIDEMARK_SEED_NODE_1", "akka://tidemark@127.0.0.1:25520");
    return env;
  }

  /** conf/production.conf with the checkpoint journal on H2 instead of PostgreSQL, a one-node cluster, and Akka's own logging at DEBUG. */
  private static Map<String, Object> onThisMachine(int managementPort) {
    return Map.of(
        "akka.remote.artery.canonical.port", 0,
        "akka.cluster.seed-nodes", List.of(),
        "akka.loglevel", "DEBUG",
        "akka.management.http.port", managementPort,
        "akka-persistence-jdbc.shared-databases.slick.profile", "slick.jdbc.H2Profile$",
        "akka-persistence-jdbc.shared-databases.slick.db.driver", "org.h2.Driver");
  }

  @Test
  void aPipelineRunWithCredentialsLogsNoPassword(@TempDir Path secrets) throws Exception {
    String jdbcUrl = "jdbc:h2:mem:credentials_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";
    int managementPort = freePort();
    Config config = ServiceConfig.load(PRODUCTION, onThisMachine(managementPort), productionEnvironment(secrets, plainUri(), jdbcUrl));
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.password")).isEqualTo(JDBC_SECRET);
    output.append(MongoSettings.create(config)).append('\n');

    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark", config);
    try (MongoClient client = MongoConnector.connectSync(plainUri(), Duration.ofSeconds(10))) {
      Cluster cluster = Cluster.get(system);
      cluster.manager().tell(Join.create(cluster.selfMember().address()));
      AkkaManagement.get(system.classicSystem()).start().toCompletableFuture().get(30, TimeUnit.SECONDS);
      PipelineControl control = Pipeline.named("credentials")
          .mongoUri(config.getString("tidemark.mongodb.uri"))
          .collection("shop", "orders")
          .checkpoints(JdbcCheckpointStore.create(system))
          .via(FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> Done.getInstance()))
          .run(system);
      control.stats().started().toCompletableFuture().get(30, TimeUnit.SECONDS);
      MongoCollection<Document> orders = client.getDatabase("shop").getCollection("orders");
      for (int i = 0; i < 20; i++) orders.insertOne(new Document("_id", i).append("secretless", true));
      Await.until(Duration.ofSeconds(30), () -> control.stats().window().completed() >= 20,
          () -> "20 events processed, got " + control.stats().window().completed());
      Await.until(Duration.ofSeconds(30), () -> http(managementPort, "/ready").startsWith("OK"), () -> "the node ready");
      output.append(http(managementPort, "/tidemark/streams")).append(http(managementPort, "/tidemark/cluster/streams"))
          .append(http(managementPort, "/metrics"))
          .append(http(managementPort, "/cluster/members"));
      control.drainAndStop().toCompletableFuture().get(30, TimeUnit.SECONDS);
      assertThat(control.stats().window().lastSaved()).as("the checkpoint went through the password-protected database").isNotNull();
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    assertThat(output).contains("\"stream\":\"credentials\"").contains("tidemark_");
    assertThat(loggers()).as("the driver, Akka and the pool logged at DEBUG").anyMatch(name -> name.startsWith("org.mongodb.driver"))
        .anyMatch(name -> name.startsWith("akka")).anyMatch(name -> name.startsWith("com.zaxxer.hikari") || name.startsWith("slick"));
    assertNoSecret();
  }

  @Test
  void aNodeThatIsRefusedByMongoDbSaysSoWithoutThePassword(@TempDir Path dir) throws Exception {
    // The default mechanism (SCRAM) is not enabled on the embedded server: the login is refused.
    String scramUri = "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:" + mongo.port() + "/?connectTimeoutMS=2000";
    int exit = node(dir, scramUri, "jdbc:h2:mem:refused;DB_CLOSE_DELAY=-1");
    assertThat(exit).isEqualTo(Main.FAILURE);
    assertThat(output).contains("MongoSecurityException").contains("password=<hidden>");
    assertNoSecret();
  }

  @Test
  void aNodeThatCannotReachMongoDbShowsNoCredentialBearingOption(@TempDir Path dir) throws Exception {
    for (String option : CREDENTIAL_OPTIONS) {
      String uri = "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:1/?connectTimeoutMS=1000&" + option;
      output.append(MongoSettings.create(com.typesafe.config.ConfigFactory.parseMap(Map.of("tidemark.mongodb.uri", uri))
          .withFallback(com.typesafe.config.ConfigFactory.defaultReference()))).append('\n');
      assertThat(node(dir, uri, "jdbc:h2:mem:unreachable;DB_CLOSE_DELAY=-1")).as(option).isIn(Main.BAD_INPUT, Main.FAILURE);
    }
    assertThat(output).contains("127.0.0.1:1");
    assertNoSecret();
  }

  @Test
  void aMalformedUriIsRefusedWithoutThePassword(@TempDir Path dir) throws Exception {
    for (String uri : List.of(
        "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:notaport/",
        "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:27017/?replicaSet=",
        "mongodb://tidemark:" + MONGO_SECRET + "@/",
        "mongodb://tidemark:" + MONGO_SECRET + "@127.0.0.1:27017/?authMechanism=NOPE",
        "mongodb:/tidemark:" + MONGO_SECRET + "@127.0.0.1")) {
      // Refused as malformed, or (an empty replicaSet) unreachable within the connect timeout.
      assertThat(node(dir, uri, "jdbc:h2:mem:malformed;DB_CLOSE_DELAY=-1")).as(uri).isEqualTo(Main.BAD_INPUT);
    }
    assertThat(output).contains("malformed MongoDB URI 'mongodb://tidemark:***@127.0.0.1:notaport/'")
        .contains("malformed MongoDB URI 'mongodb:/tidemark:***@127.0.0.1'");
    assertNoSecret();
  }

  @Test
  void aCheckpointDatabaseThatRefusesThePasswordSaysSoWithoutIt(@TempDir Path secrets) throws Exception {
    String url = "jdbc:h2:mem:guarded_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1";
    try (java.sql.Connection owner = DriverManager.getConnection(url, "sa", "the-right-one")) {
      assertThat(owner.isValid(1)).isTrue();
      Config config = ServiceConfig.load(PRODUCTION, onThisMachine(freePort()), productionEnvironment(secrets, plainUri(), url));
      assertThatThrownBy(() -> JournalSchema.createIfMissing(config, "jdbc-journal"))
          .isInstanceOf(TidemarkException.class)
          .hasMessageContaining("Wrong user name or password")
          .satisfies(e -> output.append(e.getMessage()).append('\n'));
    }
    for (String unreachable : List.of(
        "jdbc:postgresql://127.0.0.1:1/tidemark?user=sa&password=" + JDBC_SECRET,
        "jdbc:h2:tcp://127.0.0.1:1/nowhere;PASSWORD=" + JDBC_SECRET)) {
      Config config = ServiceConfig.load(PRODUCTION, onThisMachine(freePort()), productionEnvironment(secrets, plainUri(), unreachable));
      assertThatThrownBy(() -> JournalSchema.check(config, "jdbc-journal"))
          .isInstanceOf(TidemarkException.class)
          .hasMessageContaining("cannot reach the checkpoint database")
          .satisfies(e -> output.append(e.getMessage()).append('\n'));
    }
    assertNoSecret();
  }

  /** {@code node --config FILE}, the file conf/production.conf with this test's addresses and secrets. */
  private int node(Path dir, String mongoUri, String jdbcUrl) throws Exception {
    Path config = Files.writeString(dir.resolve("node.conf"), String.join("\n",
        "include file(\"" + PRODUCTION + "\")",
        "tidemark.mongodb.uri = \"" + mongoUri + "\"",
        "tidemark.mongodb.connect-timeout = 3s",
        "tidemark.mongodb.start-timeout = 3s",
        "akka.remote.artery.canonical { hostname = 127.0.0.1, port = 0 }",
        "akka.cluster.seed-nodes = [\"akka://tidemark@127.0.0.1:1\"]",
        "akka.loglevel = DEBUG",
        "akka-persistence-jdbc.shared-databases.slick {",
        "  profile = \"slick.jdbc.H2Profile$\"",
        "  db { url = \"" + jdbcUrl + "\", user = sa, password = \"" + JDBC_SECRET + "\", driver = org.h2.Driver }",
        "}"));
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = Main.execute(new String[] {"node", "--config", config.toString()}, new PrintWriter(out, true), new PrintWriter(err, true));
    output.append(out).append(err);
    return exit;
  }

  private void assertNoSecret() {
    String plainPayload = Base64.getEncoder().encodeToString(("\0tidemark\0" + MONGO_SECRET).getBytes(StandardCharsets.UTF_8));
    StringBuilder text = new StringBuilder(output);
    List<ILoggingEvent> events;
    synchronized (captured) {
      events = new ArrayList<>(captured.list);
    }
    for (ILoggingEvent event : events) {
      text.append(event.getLoggerName()).append(' ').append(event.getFormattedMessage()).append('\n');
      if (event.getThrowableProxy() != null) text.append(ThrowableProxyUtil.asString(event.getThrowableProxy())).append('\n');
    }
    String all = text.toString();
    assertThat(all).as("something was captured").isNotBlank();
    assertThat(all).doesNotContain(MONGO_SECRET).doesNotContain(JDBC_SECRET).doesNotContain(TOKEN_SECRET).doesNotContain(plainPayload);
  }

  private List<String> loggers() {
    synchronized (captured) {
      return captured.list.stream().map(ILoggingEvent::getLoggerName).distinct().toList();
    }
  }

  private static String http(int port, String path) {
    try {
      return HttpClient.newHttpClient()
          .send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path)).timeout(Duration.ofSeconds(5)).build(),
              HttpResponse.BodyHandlers.ofString())
          .body() + "\n";
    } catch (Exception e) {
      throw new AssertionError("GET " + path, e);
    }
  }

  private static int freePort() throws Exception {
    try (ServerSocket socket = new ServerSocket(0)) {
      return socket.getLocalPort();
    }
  }
}
