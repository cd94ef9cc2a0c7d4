package io.tidemark.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.testkit.typed.javadsl.SerializationTestKit;
import akka.actor.testkit.typed.javadsl.TestProbe;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Terminated;
import akka.actor.typed.javadsl.Behaviors;
import akka.pattern.StatusReply;
import akka.stream.Materializer;
import com.mongodb.MongoNamespace;
import io.tidemark.Await;
import io.tidemark.source.ChunkCopier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A copy worker entity (issue 16): a resend of the batch in progress, or of the one just answered,
 * copies nothing again; a busy worker stops only once its batch is done; its messages go through
 * Jackson (no Java serialization).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class ShardedCopyWorkerTest {
  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  private static final BsonTimestamp AT = new BsonTimestamp(1_700_000_000, 3);

  private static ChunkCopier.Batch batch(Integer after) {
    return new ChunkCopier.Batch("s", new MongoNamespace("db.c"), AT, 2, new BsonInt32(100), new BsonInt32(200),
        after == null ? null : new BsonInt32(after), 3, new BsonDocument("region", new BsonInt32(1)));
  }

  private static List<Document> documents(int from, int count) {
    List<Document> documents = new ArrayList<>();
    for (int id = from; id < from + count; id++) documents.add(new Document("_id", id).append("region", "eu"));
    return documents;
  }

  @Test
  void aResendOfTheBatchInProgressOrJustAnsweredCopiesNothingAgain() {
    CompletableFuture<List<Document>> firstRead = new CompletableFuture<>();
    ConcurrentLinkedQueue<ChunkCopier.Batch> reads = new ConcurrentLinkedQueue<>();
    ConcurrentLinkedQueue<Integer> handled = new ConcurrentLinkedQueue<>();
    ShardedCopyWorker.Node node = new ShardedCopyWorker.Node(
        batch -> {
          reads.add(batch);
          return batch.after() == null ? firstRead : CompletableFuture.completedFuture(documents(batch.after().asInt32().getValue() + 1, 1));
        },
        copy -> {
          handled.add(copy.documentKey().getInt32("_id").getValue());
          assertThat(copy.isSnapshot()).isTrue();
          assertThat(copy.clusterTime()).isEqualTo(AT);
          return CompletableFuture.completedFuture(Done.getInstance());
        }, 4, materializer);
    ActorRef<ShardedCopyWorker.Command> worker = testKit.spawn(ShardedCopyWorker.create(node));
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> first = testKit.createTestProbe();
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> resent = testKit.createTestProbe();
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> again = testKit.createTestProbe();

    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(null), first.ref()));
    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(null), resent.ref())); // its answer timed out: resent while in progress
    firstRead.complete(documents(100, 3));
    for (TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> probe : List.of(first, resent)) {
      ChunkCopier.Copied copied = probe.receiveMessage().getValue().copied();
      assertThat(copied).isEqualTo(new ChunkCopier.Copied(new BsonInt32(102), 3));
    }
    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(null), again.ref())); // the answer was lost: resent once answered
    assertThat(again.receiveMessage().getValue().copied()).isEqualTo(new ChunkCopier.Copied(new BsonInt32(102), 3));
    assertThat(reads).hasSize(1);
    assertThat(handled).containsExactlyInAnyOrder(100, 101, 102);

    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(102), again.ref())); // the next batch
    assertThat(again.receiveMessage().getValue().copied()).isEqualTo(new ChunkCopier.Copied(new BsonInt32(103), 1));
    assertThat(reads).hasSize(2);
    assertThat(reads.stream().toList().get(1)).isEqualTo(batch(102));
    assertThat(handled).containsExactlyInAnyOrder(100, 101, 102, 103);
  }

  @Test
  void aBusyCopyWorkerStopsOnlyOnceItsBatchIsDone() {
    CompletableFuture<Done> slow = new CompletableFuture<>();
    ShardedCopyWorker.Node node = new ShardedCopyWorker.Node(batch -> CompletableFuture.completedFuture(documents(100, 2)), copy -> slow, 4, materializer);
    ActorRef<ShardedCopyWorker.Command> worker = testKit.spawn(ShardedCopyWorker.create(node));
    AtomicBoolean terminated = new AtomicBoolean();
    testKit.spawn(Behaviors.<Void>setup(context -> {
      context.watch(worker);
      return Behaviors.receive(Void.class).onSignal(Terminated.class, signal -> {
        terminated.set(true);
        return Behaviors.stopped();
      }).build();
    }));
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> replies = testKit.createTestProbe();
    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(null), replies.ref()));
    worker.tell(ShardedCopyWorker.Stop.INSTANCE);
    assertThat(Await.atMost(Duration.ofMillis(300), terminated::get)).as("stopped while its batch runs").isFalse();
    slow.complete(Done.getInstance());
    assertThat(replies.receiveMessage().getValue().copied()).isEqualTo(new ChunkCopier.Copied(new BsonInt32(101), 2));
    Await.until(Duration.ofSeconds(5), terminated::get, () -> "the worker stopped after its batch");
  }

  @Test
  void aFailingHandlerFailsTheAskWithWhatWentWrong() {
    ShardedCopyWorker.Node node = new ShardedCopyWorker.Node(batch -> CompletableFuture.completedFuture(documents(100, 2)),
        copy -> CompletableFuture.failedFuture(new IllegalStateException("view down")), 4, materializer);
    ActorRef<ShardedCopyWorker.Command> worker = testKit.spawn(ShardedCopyWorker.create(node));
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> replies = testKit.createTestProbe();
    worker.tell(ShardedCopyWorker.CopyBatch.of(batch(null), replies.ref()));
    StatusReply<ShardedCopyWorker.BatchCopied> reply = replies.receiveMessage();
    assertThat(reply.isError()).isTrue();
    assertThat(reply.getError().getMessage()).contains("copying a batch failed").contains("view down");
  }

  @Test
  void itsMessagesGoThroughJackson() {
    SerializationTestKit serialization = new SerializationTestKit(testKit.system());
    TestProbe<StatusReply<ShardedCopyWorker.BatchCopied>> replies = testKit.createTestProbe();
    ChunkCopier.Batch batch = new ChunkCopier.Batch("s", new MongoNamespace("db.c"), AT, 7, null, new BsonString("m"), new BsonString("k"), 500, null);
    ShardedCopyWorker.CopyBatch ask = serialization.verifySerialization(ShardedCopyWorker.CopyBatch.of(batch, replies.ref()), false);
    assertThat(ask.batch()).isEqualTo(batch);
    assertThat(ask.replyTo).isEqualTo(replies.ref());
    assertThat(serialization.verifySerialization(ShardedCopyWorker.CopyBatch.of(batch(5), replies.ref()), false).batch()).isEqualTo(batch(5));
    ShardedCopyWorker.BatchCopied answer = serialization.verifySerialization(ShardedCopyWorker.BatchCopied.of(new ChunkCopier.Copied(new BsonString("z"), 9)), false);
    assertThat(answer.copied()).isEqualTo(new ChunkCopier.Copied(new BsonString("z"), 9));
    assertThat(serialization.verifySerialization(ShardedCopyWorker.BatchCopied.of(new ChunkCopier.Copied(null, 0)), false).copied())
        .isEqualTo(new ChunkCopier.Copied(null, 0));
  }
}
