package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.mongodb.MongoCommandException;
import com.mongodb.MongoTimeoutException;
import com.mongodb.ReadConcern;
import com.mongodb.ClientSessionOptions;
import com.mongodb.client.ClientSession;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.MongoDatabase;
import com.mongodb.client.model.Filters;
import com.mongodb.connection.ClusterType;
import com.mongodb.connection.ServerDescription;
import com.mongodb.connection.ServerType;
import com.mongodb.event.CommandListener;
import com.mongodb.event.CommandStartedEvent;
import com.mongodb.event.CommandSucceededEvent;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.slf4j.LoggerFactory;

/**
 * A driver sees a primary of the single-node replica set {@code rs0}: the handshake, server
 * selection by set name, sessions and causal consistency, cluster time on every reply, and a clean
 * error for a command the server does not know.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ReplicaSetHandshakeIT {
  private final Deployment deployment = Deployment.start();

  @AfterAll
  void stop() {
    deployment.close();
  }

  private Document admin(Document command) {
    return deployment.client().getDatabase("admin").runCommand(command);
  }

  /** The host:port the test connected to, as the server should name itself. */
  private String seed() {
    return new com.mongodb.ConnectionString(deployment.uri()).getHosts().get(0);
  }

  // https://www.mongodb.com/docs/manual/reference/command/hello/ ("Replica Sets" output fields)
  @Test
  void helloDescribesTheWritablePrimaryOfReplicaSetRs0() {
    Document hello = admin(new Document("hello", 1));
    assertThat(hello.getBoolean("isWritablePrimary")).isTrue();
    assertThat(hello.getBoolean("secondary")).isFalse();
    assertThat(hello.getString("setName")).isEqualTo("rs0");
    assertThat(hello.getList("hosts", String.class)).containsExactly(seed());
    assertThat(hello.getString("primary")).isEqualTo(seed());
    assertThat(hello.getString("me")).isEqualTo(seed());
    assertThat(hello.get("setVersion", Number.class).intValue()).isPositive();
    assertThat(hello.get("electionId")).isInstanceOf(org.bson.types.ObjectId.class);
    assertThat(hello.get("logicalSessionTimeoutMinutes", Number.class).intValue()).isPositive();
    assertThat(hello.get("lastWrite", Document.class).get("opTime", Document.class).get("ts")).isInstanceOf(BsonTimestamp.class);
    assertThat(hello.getInteger("maxWireVersion")).isGreaterThanOrEqualTo(hello.getInteger("minWireVersion"));
    assertThat(hello.get("$clusterTime", Document.class).get("clusterTime")).isInstanceOf(BsonTimestamp.class);
    assertThat(hello.get("operationTime")).isInstanceOf(BsonTimestamp.class);
  }

  // https://www.mongodb.com/docs/manual/reference/command/isMaster/ (the legacy name answers as hello does, with ismaster)
  @Test
  void isMasterAnswersAsHelloDoes() {
    Document isMaster = admin(new Document("isMaster", 1));
    assertThat(isMaster.getBoolean("ismaster")).isTrue();
    assertThat(isMaster.getString("setName")).isEqualTo("rs0");
    assertThat(isMaster.getList("hosts", String.class)).containsExactly(seed());
    assertThat(isMaster.get("logicalSessionTimeoutMinutes", Number.class).intValue()).isPositive();
    assertThat(isMaster.get("$clusterTime", Document.class)).isNotNull();
  }

  // https://www.mongodb.com/docs/manual/reference/connection-string-options/#mongodb-urioption-urioption.replicaSet
  @Test
  void aReplicaSetUriFindsThePrimary() {
    try (MongoClient client = MongoClients.create(Deployment.settings(deployment.uri("replicaSet=rs0"), null))) {
      MongoCollection<Document> orders = client.getDatabase(Deployment.databaseName()).getCollection("orders");
      orders.insertOne(new Document("_id", 1));
      assertThat(orders.find(Filters.eq("_id", 1)).first()).isNotNull();
      assertThat(client.getClusterDescription().getType()).isEqualTo(ClusterType.REPLICA_SET);
      ServerDescription primary = client.getClusterDescription().getServerDescriptions().get(0);
      assertThat(primary.getType()).isEqualTo(ServerType.REPLICA_SET_PRIMARY);
      assertThat(primary.getSetName()).isEqualTo("rs0");
      assertThat(primary.getLogicalSessionTimeoutMinutes()).isNotNull();
    }
  }

  // Server selection spec: a member of another set is never selected (source/server-selection/server-selection.md)
  @Test
  void aUriNamingAnotherSetFindsNoServer() {
    var settings = com.mongodb.MongoClientSettings.builder(Deployment.settings(deployment.uri("replicaSet=other"), null))
        .applyToClusterSettings(b -> b.serverSelectionTimeout(1, TimeUnit.SECONDS)).build();
    try (MongoClient client = MongoClients.create(settings)) {
      assertThatThrownBy(() -> client.getDatabase("admin").runCommand(new Document("ping", 1)))
          .isInstanceOf(MongoTimeoutException.class);
    }
  }

  // https://www.mongodb.com/docs/manual/reference/command/replSetGetStatus/
  @Test
  void replSetGetStatusShowsOnePrimaryMember() {
    Document status = admin(new Document("replSetGetStatus", 1));
    assertThat(status.getString("set")).isEqualTo("rs0");
    assertThat(status.get("myState", Number.class).intValue()).isEqualTo(1);
    List<Document> members = status.getList("members", Document.class);
    assertThat(members).hasSize(1);
    Document self = members.get(0);
    assertThat(self.getString("name")).isEqualTo(seed());
    assertThat(self.getString("stateStr")).isEqualTo("PRIMARY");
    assertThat(self.get("state", Number.class).intValue()).isEqualTo(1);
    assertThat(self.getBoolean("self")).isTrue();
    assertThat(self.get("health", Number.class).intValue()).isEqualTo(1);
    assertThat(self.get("optime", Document.class).get("ts")).isInstanceOf(BsonTimestamp.class);
  }

  // https://www.mongodb.com/docs/manual/reference/command/startSession/ and .../endSessions/
  @Test
  void sessionsStartAndEnd() {
    Document started = admin(new Document("startSession", 1));
    Document id = started.get("id", Document.class);
    assertThat(id.get("id")).isInstanceOfSatisfying(org.bson.types.Binary.class, uuid -> {
      assertThat(uuid.getType()).isEqualTo(org.bson.BsonBinarySubType.UUID_STANDARD.getValue());
      assertThat(uuid.getData()).hasSize(16);
    });
    assertThat(started.get("timeoutMinutes", Number.class).intValue()).isPositive();
    Document ended = admin(new Document("endSessions", List.of(id)));
    assertThat(ended.get("ok", Number.class).intValue()).isEqualTo(1);
    assertThat(admin(new Document("refreshSessions", List.of(id))).get("ok", Number.class).intValue()).isEqualTo(1);
  }

  // Driver sessions spec: lsid on every command of a session (source/sessions/driver-sessions.md)
  @Test
  void everyCommandOfASessionCarriesItsLsidAndIsAccepted() {
    Recorder recorder = new Recorder();
    try (MongoClient client = MongoClients.create(Deployment.settings(deployment.uri(), recorder));
        ClientSession session = client.startSession()) {
      MongoDatabase database = client.getDatabase(Deployment.databaseName());
      MongoCollection<Document> orders = database.getCollection("orders");
      orders.insertOne(session, new Document("_id", 1).append("n", 1));
      orders.updateOne(session, Filters.eq("_id", 1), new Document("$inc", new Document("n", 1)));
      assertThat(orders.find(session, Filters.eq("_id", 1)).first()).containsEntry("n", 2);
      assertThat(orders.countDocuments(session)).isEqualTo(1);
      orders.aggregate(session, List.of(new Document("$match", new Document()))).into(new java.util.ArrayList<>());
      orders.deleteOne(session, Filters.eq("_id", 1));
      assertThat(recorder.started).extracting(CommandStartedEvent::getCommandName)
          .contains("insert", "update", "find", "aggregate", "delete");
      assertThat(recorder.started).filteredOn(e -> !e.getCommandName().equals("endSessions"))
          .allSatisfy(e -> assertThat(e.getCommand().getDocument("lsid")).isEqualTo(session.getServerSession().getIdentifier()));
    }
  }

  // https://www.mongodb.com/docs/manual/core/read-isolation-consistency-recency/#causal-consistency
  // (a causally consistent session sends readConcern.afterClusterTime and reads its own writes)
  @Test
  void aCausallyConsistentSessionReadsItsOwnWrites() {
    Recorder recorder = new Recorder();
    try (MongoClient client = MongoClients.create(Deployment.settings(deployment.uri(), recorder));
        ClientSession session = client.startSession(ClientSessionOptions.builder().causallyConsistent(true).build())) {
      MongoCollection<Document> orders = client.getDatabase(Deployment.databaseName()).getCollection("orders")
          .withReadConcern(ReadConcern.MAJORITY);
      orders.insertOne(session, new Document("_id", 7));
      BsonTimestamp afterInsert = session.getOperationTime();
      assertThat(afterInsert).isNotNull();
      assertThat(orders.find(session, Filters.eq("_id", 7)).first()).isNotNull();
      CommandStartedEvent find = recorder.started.stream().filter(e -> e.getCommandName().equals("find")).findFirst().orElseThrow();
      assertThat(find.getCommand().getDocument("readConcern").getTimestamp("afterClusterTime")).isEqualTo(afterInsert);
      assertThat(find.getCommand().getDocument("readConcern").getString("level").getValue()).isEqualTo("majority");
    }
  }

  // Driver sessions spec, "Gossipping the cluster time": a replica-set member's replies carry
  // $clusterTime and operationTime (https://www.mongodb.com/docs/manual/reference/command/#response)
  @Test
  void repliesCarryClusterTimeAndOperationTime() {
    Recorder recorder = new Recorder();
    try (MongoClient client = MongoClients.create(Deployment.settings(deployment.uri(), recorder))) {
      MongoCollection<Document> orders = client.getDatabase(Deployment.databaseName()).getCollection("orders");
      orders.insertOne(new Document("_id", 1));
      orders.find().first();
      assertThat(recorder.succeeded).filteredOn(e -> List.of("insert", "find").contains(e.getCommandName())).hasSize(2)
          .allSatisfy(e -> {
            assertThat(e.getResponse().getDocument("$clusterTime").getTimestamp("clusterTime")).isNotNull();
            assertThat(e.getResponse().getTimestamp("operationTime")).isNotNull();
          });
      BsonTimestamp gossiped = recorder.succeeded.get(recorder.succeeded.size() - 1).getResponse()
          .getDocument("$clusterTime").getTimestamp("clusterTime");
      orders.find().first();
      CommandStartedEvent last = recorder.started.get(recorder.started.size() - 1);
      assertThat(last.getCommand().getDocument("$clusterTime").getTimestamp("clusterTime")).isGreaterThanOrEqualTo(gossiped);
    }
  }

  // Retryable writes (https://www.mongodb.com/docs/manual/core/retryable-writes/): a write sent again
  // with the same lsid and txnNumber is answered as the first time, and done once; an older txnNumber
  // on the session is TransactionTooOld 225
  @Test
  void aRetriedWriteIsDoneOnce() {
    MongoDatabase database = deployment.database();
    try (ClientSession session = deployment.client().startSession()) {
      Document insert = new Document("insert", "orders").append("documents", List.of(new Document("_id", 1).append("n", 1)))
          .append("txnNumber", 7L);
      Document first = database.runCommand(session, insert);
      Document again = database.runCommand(session, insert);
      assertThat(first.get("n", Number.class).intValue()).isEqualTo(1);
      assertThat(again.get("n", Number.class).intValue()).isEqualTo(1);
      assertThat(again.get("writeErrors")).isNull();
      Document increment = new Document("update", "orders").append("txnNumber", 8L)
          .append("updates", List.of(new Document("q", new Document("_id", 1)).append("u", new Document("$inc", new Document("n", 1)))));
      database.runCommand(session, increment);
      database.runCommand(session, increment);
      assertThat(database.getCollection("orders").find().first()).containsEntry("n", 2);
      assertThatThrownBy(() -> database.runCommand(session, insert))
          .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(225));
    }
  }

  // readConcern afterClusterTime later than the server's cluster time: InvalidOptions 72
  // (https://www.mongodb.com/docs/manual/reference/read-concern/#read-operations-and-afterclustertime)
  @Test
  void afterClusterTimeInTheFutureIsRefused() {
    BsonTimestamp now = deployment.operationTime();
    Document find = new Document("find", "orders").append("readConcern",
        new Document("afterClusterTime", new BsonTimestamp(now.getTime() + 3600, 0)));
    assertThatThrownBy(() -> deployment.database().runCommand(find))
        .isInstanceOfSatisfying(MongoCommandException.class, e -> assertThat(e.getErrorCode()).isEqualTo(72));
    Document past = new Document("find", "orders").append("readConcern", new Document("afterClusterTime", now));
    assertThat(deployment.database().runCommand(past).get("ok", Number.class).intValue()).isEqualTo(1);
  }

  // Error code 59 CommandNotFound (src/mongo/base/error_codes.yml); the server answers, it does not log a stack trace
  @Test
  void anUnknownCommandIsCommandNotFoundWithoutAStackTrace() {
    ListAppender<ILoggingEvent> logged = new ListAppender<>();
    Logger root = (Logger) LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    logged.start();
    root.addAppender(logged);
    try {
      for (String database : List.of("admin", Deployment.databaseName())) {
        assertThatThrownBy(() -> deployment.client().getDatabase(database).runCommand(new Document("noSuchCommand", 1)))
            .isInstanceOfSatisfying(MongoCommandException.class, e -> {
              assertThat(e.getErrorCode()).isEqualTo(59);
              assertThat(e.getErrorCodeName()).isEqualTo("CommandNotFound");
              assertThat(e.getErrorMessage()).contains("noSuchCommand");
            });
      }
    } finally {
      root.detachAppender(logged);
    }
    assertThat(logged.list).noneMatch(e -> e.getThrowableProxy() != null).noneMatch(e -> e.getLevel().isGreaterOrEqual(Level.ERROR));
  }

  // https://www.mongodb.com/docs/manual/reference/command/buildInfo/ and the wire version of that release
  // (driver spec source/wireversion-featurelist/wireversion-featurelist.md: 6.0 is wire version 17)
  @Test
  void theServerClaimsTheReleaseWhoseFeaturesItHas() {
    Document build = admin(new Document("buildInfo", 1));
    Document hello = admin(new Document("hello", 1));
    if (deployment.embedded()) {
      assertThat(build.getString("version")).startsWith("6.0.");
      assertThat(build.getList("versionArray", Integer.class).subList(0, 2)).containsExactly(6, 0);
      assertThat(hello.getInteger("maxWireVersion")).isEqualTo(17);
    } else {
      assertThat(hello.getInteger("maxWireVersion")).isGreaterThanOrEqualTo(17);
    }
  }

  static final class Recorder implements CommandListener {
    final List<CommandStartedEvent> started = new CopyOnWriteArrayList<>();
    final List<CommandSucceededEvent> succeeded = new CopyOnWriteArrayList<>();

    @Override
    public void commandStarted(CommandStartedEvent event) {
      if (!isMonitoring(event.getCommandName())) started.add(event);
    }

    @Override
    public void commandSucceeded(CommandSucceededEvent event) {
      if (!isMonitoring(event.getCommandName())) succeeded.add(event);
    }

    private static boolean isMonitoring(String command) {
      return List.of("hello", "isMaster", "ismaster").contains(command);
    }
  }
}
