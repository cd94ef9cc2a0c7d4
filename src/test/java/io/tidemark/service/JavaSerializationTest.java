package io.tidemark.service;

import io.tidemark.service.ServiceConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import akka.serialization.DisabledJavaSerializer;
import akka.serialization.JavaSerializer;
import akka.serialization.Serialization;
import akka.serialization.SerializationExtension;
import akka.serialization.Serializer;
import akka.serialization.jackson.JacksonCborSerializer;
import com.typesafe.config.Config;
import io.tidemark.JsonSerializable;
import io.tidemark.cluster.ShardedWorker;
import io.tidemark.source.ChangeEnvelope;
import java.io.ByteArrayOutputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.file.Path;
import java.util.Map;
import org.bson.BsonDocument;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Java serialization is off in the service's configuration: a message that is only
 * {@link Serializable} can be neither sent nor received, and Tidemark's own messages go through
 * Jackson CBOR; an event's content travels between nodes as data.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JavaSerializationTest {
  /** What a careless message looks like: Serializable, not bound to Jackson. */
  static final class PlainMessage implements Serializable {
    private static final long serialVersionUID = 1L;
    final String text = "hello";
  }

  /** A message bound to Jackson through Tidemark's marker interface. */
  record BoundMessage(String text, long seqNr) implements JsonSerializable {}

  private ActorSystem<Void> system;
  private Serialization serialization;

  @BeforeAll
  void start() {
    Map<String, String> env = Map.of(
        "TIDEMARK_MONGODB_URI", "mongodb://mongo-1:27017/?replicaSet=rs0",
        "TIDEMARK_JDBC_URL", "jdbc:postgresql://postgres:5432/tidemark",
        "TIDEMARK_JDBC_USER", "tidemark",
        "TIDEMARK_JDBC_PASSWORD", "pw",
        "TIDEMARK_REMOTE_HOST", "127.0.0.1",
        "TIDEMARK_SEED_NODE_1", "akka://tidemark@127.0.0.1:25520");
    Config config = ServiceConfig.load(Path.of("conf", "production.conf"), Map.of("akka.actor.provider", "local"), env);
    assertThat(config.getBoolean("akka.actor.allow-java-serialization")).isFalse();
    system = ActorSystem.create(Behaviors.empty(), "serialization", config);
    serialization = SerializationExtension.get(system);
  }

  @AfterAll
  void stop() {
    system.terminate();
    system.getWhenTerminated().toCompletableFuture().join();
  }

  @Test
  void aPlainSerializableMessageCannotBeSerialized() {
    Serializer serializer = serialization.findSerializerFor(new PlainMessage());
    assertThat(serializer).isInstanceOf(DisabledJavaSerializer.class);
    assertThatThrownBy(() -> serializer.toBinary(new PlainMessage()))
        .isInstanceOf(DisabledJavaSerializer.JavaSerializationException.class)
        .hasMessageContaining("Attempted to serialize message using Java serialization");
    assertThat(serialization.serialize(new PlainMessage()).isFailure()).as("serialize() before a remote send").isTrue();
  }

  @Test
  void aJavaSerializedMessageFromTheWireIsRejected() throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
      out.writeObject(new PlainMessage());
    }
    // Akka refuses even to create a JavaSerializer here, so its id comes from the configuration (1).
    int javaSerializerId = system.settings().config().getInt("akka.actor.serialization-identifiers.\"akka.serialization.JavaSerializer\"");
    assertThatThrownBy(() -> new JavaSerializer((akka.actor.ExtendedActorSystem) system.classicSystem()))
        .isInstanceOf(DisabledJavaSerializer.JavaSerializationException.class);
    var received = serialization.deserialize(bytes.toByteArray(), javaSerializerId, "");
    assertThat(received.isFailure()).as("bytes sent with Java serialization's id are not deserialized").isTrue();
    assertThat(received.failed().get()).isInstanceOf(DisabledJavaSerializer.JavaSerializationException.class);
  }

  @Test
  void tidemarkMessagesGoThroughJacksonCbor() {
    BoundMessage message = new BoundMessage("event", 42);
    Serializer serializer = serialization.findSerializerFor(message);
    assertThat(serializer).isInstanceOf(JacksonCborSerializer.class);
    byte[] bytes = serialization.serialize(message).get();
    String manifest = akka.serialization.Serializers.manifestFor(serializer, message);
    assertThat(serialization.deserialize(bytes, serializer.identifier(), manifest).get()).isEqualTo(message);
  }

  @Test
  void eventContentCrossesNodesAsDataNeverAsCodeOrConfig() {
    // Field values that would mean something to HOCON, to Jackson's polymorphic typing, to Java
    // serialization or to a server-side JavaScript evaluator arrive as the same strings.
    BsonDocument event = BsonDocument.parse("""
        {"_id": {"_data": "8200000001"}, "operationType": "insert",
         "clusterTime": {"$timestamp": {"t": 1700000000, "i": 1}},
         "ns": {"db": "shop", "coll": "orders"}, "documentKey": {"_id": 1},
         "fullDocument": {"_id": 1,
           "note": "${akka.remote.artery.canonical.hostname}",
           "include": "include file(\\"/etc/passwd\\")",
           "@class": "java.lang.ProcessBuilder", "$where": "function() { return true }",
           "payload": {"$binary": {"base64": "rO0ABXNyABFqYXZhLnV0aWwuSGFzaE1hcA==", "subType": "00"}}}}
        """);
    ChangeEnvelope envelope = ChangeEnvelope.fromEventDocument(7, event);
    ShardedWorker.Process process =
        new ShardedWorker.Process("orders", 7, envelope.eventDocument().toJson(JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build()),
            system.deadLetters());
    Serializer serializer = serialization.findSerializerFor(process);
    assertThat(serializer).isInstanceOf(JacksonCborSerializer.class);
    byte[] bytes = serialization.serialize(process).get();
    ShardedWorker.Process received = (ShardedWorker.Process) serialization
        .deserialize(bytes, serializer.identifier(), akka.serialization.Serializers.manifestFor(serializer, process)).get();
    ChangeEnvelope arrived = ChangeEnvelope.fromEventDocument(received.seqNr, BsonDocument.parse(received.eventJson));
    assertThat(arrived.eventDocument().getDocument("fullDocument")).isEqualTo(event.getDocument("fullDocument"));
    assertThat(arrived.eventDocument().getDocument("fullDocument").getString("note").getValue())
        .isEqualTo("${akka.remote.artery.canonical.hostname}");
  }
}
