package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.typed.ActorSystem;
import akka.serialization.jackson.JacksonObjectMapperProvider;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Clusters;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.source.ResumePosition;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/** The checkpoint replica on Distributed Data keeps what a checkpoint is, not only where. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class TokenReplicaIT {
  private final ActorSystem<Void> node = Clusters.start("replica", 1, ConfigFactory.empty()).get(0);

  @AfterAll
  void shutdown() {
    node.terminate();
  }

  private static final BsonDocument TOKEN = new BsonDocument("_data", new BsonString("8265000000000000010a"));

  @Test
  void anInvalidateIsReadBackAsAnInvalidateAndResumesWithStartAfter() throws Exception {
    TokenReplica replica = TokenReplica.create(node);
    Checkpoint invalidate = Checkpoint.atToken("dropped", TOKEN, new BsonTimestamp(1_700_000_000, 1)).as(CheckpointKind.INVALIDATE, null);
    replica.publish(invalidate, 4);

    Optional<Checkpoint> read = Optional.empty();
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (read.isEmpty() && System.nanoTime() < deadline) read = replica.read("dropped").toCompletableFuture().get(10, TimeUnit.SECONDS);
    assertThat(read).hasValueSatisfying(checkpoint -> {
      assertThat(checkpoint.kind()).isEqualTo(CheckpointKind.INVALIDATE);
      assertThat(checkpoint.position()).isEqualTo(ResumePosition.startAfter(TOKEN));
      assertThat(checkpoint.epoch()).isEqualTo(4);
    });
  }

  @Test
  void anEntryWrittenBeforeTheKindWasKeptReadsAsAnEvent() throws Exception {
    ObjectMapper cbor = JacksonObjectMapperProvider.get(node.classicSystem()).getOrCreate("jackson-cbor", Optional.empty());
    Map<String, Object> older = new LinkedHashMap<>();
    older.put("stream", "s");
    older.put("tokenJson", TOKEN.toJson());
    older.put("clusterTime", new BsonTimestamp(1_700_000_000, 1).getValue());
    older.put("epoch", 3L);
    older.put("savedAtMillis", 1L);
    TokenReplica.Entry entry = cbor.readValue(cbor.writeValueAsBytes(older), TokenReplica.Entry.class);
    assertThat(entry.checkpoint().kind()).isEqualTo(CheckpointKind.EVENT);
    assertThat(entry.checkpoint().position()).isEqualTo(ResumePosition.resumeAfter(TOKEN));

    TokenReplica.Entry now = TokenReplica.Entry.of(Checkpoint.atToken("s", TOKEN, null).as(CheckpointKind.INVALIDATE, null), 3);
    TokenReplica.Entry back = cbor.readValue(cbor.writeValueAsBytes(now), TokenReplica.Entry.class);
    assertThat(back.checkpoint().kind()).isEqualTo(CheckpointKind.INVALIDATE);
  }
}
