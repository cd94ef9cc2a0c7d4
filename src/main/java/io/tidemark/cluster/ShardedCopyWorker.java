package io.tidemark.cluster;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.StashBuffer;
import akka.pattern.StatusReply;
import akka.stream.Materializer;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.fasterxml.jackson.annotation.JsonCreator;
import com.mongodb.MongoNamespace;
import com.mongodb.reactivestreams.client.MongoClient;
import io.tidemark.Errors;
import io.tidemark.JsonSerializable;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.ChunkCopier;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.Document;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;

/**
 * The sharded entity that copies the batches of one chunk of a snapshot (one per stream, collection
 * and chunk): it reads the batch it is asked for on its own node, as the consumer's copy would
 * (majority, after the snapshot's time, {@code _id} order within the chunk's range), runs every
 * document through the user's handler — up to {@code tidemark.pipeline.parallelism} at a time: a
 * batch's documents have distinct keys — and answers with the last {@code _id} and the count.
 *
 * <p>One batch at a time: an ask for another batch waits in the stash. The consumer resends an ask
 * whose answer timed out: a resend of the batch in progress waits for it, and a resend of the batch
 * just answered gets the same answer again, so neither copies anything twice. Only an entity that
 * is created again (its node died, its shard moved) copies its chunk's batch in flight again.
 *
 * <p>Sharding stops an entity with {@link Stop} when its shard moves or it is passivated: a busy
 * entity stops only once its batch is done, so that a batch never runs on two nodes at once.
 */
public final class ShardedCopyWorker {
  private ShardedCopyWorker() {}

  private static final JsonWriterSettings EXTENDED_JSON = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

  public interface Command extends JsonSerializable {}

  /**
   * Copy one batch of a chunk. {@code range} is {@code {min?, max?, _id?, shardKey?}} in extended
   * JSON (the chunk's bounds, the {@code _id} to go on after, the collection's shard key); the
   * snapshot's time is {@code atSeconds}, {@code atIncrement}.
   */
  public static final class CopyBatch implements Command {
    public final String stream;
    public final String namespace;
    public final int chunk;
    public final long atSeconds;
    public final long atIncrement;
    public final String range;
    public final int batchSize;
    public final ActorRef<StatusReply<BatchCopied>> replyTo;

    @JsonCreator
    public CopyBatch(
        String stream, String namespace, int chunk, long atSeconds, long atIncrement, String range, int batchSize,
        ActorRef<StatusReply<BatchCopied>> replyTo) {
      this.stream = stream;
      this.namespace = namespace;
      this.chunk = chunk;
      this.atSeconds = atSeconds;
      this.atIncrement = atIncrement;
      this.range = range;
      this.batchSize = batchSize;
      this.replyTo = replyTo;
    }

    static CopyBatch of(ChunkCopier.Batch batch, ActorRef<StatusReply<BatchCopied>> replyTo) {
      BsonDocument range = new BsonDocument();
      if (batch.min() != null) range.append("min", batch.min());
      if (batch.max() != null) range.append("max", batch.max());
      if (batch.after() != null) range.append("_id", batch.after());
      if (batch.shardKey() != null) range.append("shardKey", batch.shardKey());
      return new CopyBatch(batch.stream(), batch.namespace().getFullName(), batch.chunk(), batch.at().getTime(), batch.at().getInc(),
          range.toJson(EXTENDED_JSON), batch.batchSize(), replyTo);
    }

    /** The batch asked for; a malformed message is refused with what was wrong. */
    ChunkCopier.Batch batch() {
      BsonDocument document = BsonDocument.parse(range);
      return new ChunkCopier.Batch(stream, new MongoNamespace(namespace), new BsonTimestamp((int) atSeconds, (int) atIncrement), chunk,
          document.get("min"), document.get("max"), document.get("_id"), batchSize,
          document.isDocument("shardKey") ? document.getDocument("shardKey") : null);
    }

    /** What identifies the batch: the same batch asked for again (a resend, another consumer) has the same one. */
    String identity() {
      return namespace + "|" + chunk + "|" + atSeconds + "." + atIncrement + "|" + range + "|" + batchSize;
    }
  }

  /** The answer: {@code count} documents copied, the last one's {@code _id} as {@code {"_id": ...}} in extended JSON (null when none). */
  public static final class BatchCopied implements JsonSerializable {
    public final String last;
    public final int count;

    @JsonCreator
    public BatchCopied(String last, int count) {
      this.last = last;
      this.count = count;
    }

    static BatchCopied of(ChunkCopier.Copied copied) {
      return new BatchCopied(copied.last() == null ? null : new BsonDocument("_id", copied.last()).toJson(EXTENDED_JSON), copied.count());
    }

    ChunkCopier.Copied copied() {
      return new ChunkCopier.Copied(last == null ? null : BsonDocument.parse(last).get("_id"), count);
    }
  }

  /** Stop when idle; sharding's stop message. */
  public enum Stop implements Command {
    INSTANCE
  }

  private static final class Finished implements Command {
    final String identity;
    final ChunkCopier.Copied copied;
    final Throwable error;

    Finished(String identity, ChunkCopier.Copied copied, Throwable error) {
      this.identity = identity;
      this.copied = copied;
      this.error = error;
    }
  }

  /**
   * What the worker needs on its node: how it reads a batch ({@link ChunkCopier#read} with the node's
   * client), the handler, and how many documents it runs at a time.
   */
  record Node(
      Function<ChunkCopier.Batch, CompletionStage<List<Document>>> reader, Function<ChangeEnvelope, CompletionStage<Done>> handler,
      int parallelism, Materializer materializer) {

    static Node of(MongoClient client, Function<ChangeEnvelope, CompletionStage<Done>> handler, int parallelism, Materializer materializer) {
      return new Node(batch -> ChunkCopier.read(client, batch), handler, parallelism, materializer);
    }
  }

  static final int STASH = 1_000;

  public static Behavior<Command> create(Node node) {
    return Behaviors.withStash(STASH, stash -> idle(node, stash, null, null));
  }

  private static Behavior<Command> idle(Node node, StashBuffer<Command> stash, String lastIdentity, ChunkCopier.Copied lastAnswer) {
    return Behaviors.receive(Command.class)
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .onMessage(CopyBatch.class, ask -> {
          String identity = ask.identity();
          if (identity.equals(lastIdentity)) { // a resend of the batch just answered: its answer was lost
            ask.replyTo.tell(StatusReply.success(BatchCopied.of(lastAnswer)));
            return Behaviors.same();
          }
          ChunkCopier.Batch batch;
          try {
            batch = ask.batch();
          } catch (RuntimeException e) {
            ask.replyTo.tell(StatusReply.error("unreadable batch of " + ask.namespace + " chunk " + ask.chunk + ": " + Errors.summary(e)));
            return Behaviors.same();
          }
          return Behaviors.setup(context -> {
            start(context, node, batch, identity);
            List<ActorRef<StatusReply<BatchCopied>>> waiting = new ArrayList<>();
            waiting.add(ask.replyTo);
            return busy(node, stash, identity, waiting, false, lastIdentity, lastAnswer);
          });
        })
        .build();
  }

  private static void start(ActorContext<Command> context, Node node, ChunkCopier.Batch batch, String identity) {
    CompletionStage<ChunkCopier.Copied> work;
    try {
      work = copy(node, batch);
    } catch (RuntimeException e) {
      work = CompletableFuture.failedFuture(e);
    }
    context.pipeToSelf(work, (copied, error) -> new Finished(identity, copied, error));
  }

  /** Reads the batch and runs each of its documents through the handler; the last {@code _id} and the count once all are done. */
  static CompletionStage<ChunkCopier.Copied> copy(Node node, ChunkCopier.Batch batch) {
    return node.reader().apply(batch).thenCompose(documents -> {
      if (documents.isEmpty()) return CompletableFuture.completedFuture(new ChunkCopier.Copied(null, 0));
      BsonValue last = new Document("_id", documents.get(documents.size() - 1).get("_id")).toBsonDocument().get("_id");
      return Source.from(documents)
          .mapAsyncUnordered(node.parallelism(), document -> {
            try {
              return node.handler().apply(ChunkCopier.envelope(batch, document));
            } catch (RuntimeException e) {
              return CompletableFuture.<Done>failedFuture(e);
            }
          })
          .runWith(Sink.ignore(), node.materializer())
          .thenApply(done -> new ChunkCopier.Copied(last, documents.size()));
    });
  }

  private static Behavior<Command> busy(
      Node node, StashBuffer<Command> stash, String identity, List<ActorRef<StatusReply<BatchCopied>>> waiting, boolean stopping,
      String lastIdentity, ChunkCopier.Copied lastAnswer) {
    return Behaviors.receive(Command.class)
        .onMessage(CopyBatch.class, ask -> {
          if (ask.identity().equals(identity)) {
            waiting.add(ask.replyTo); // a resend of the batch in progress: answered when it is done
          } else if (!stopping) {
            stash.stash(ask); // while stopping, the consumer resends after its timeout, to wherever the shard lives next
          }
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> busy(node, stash, identity, waiting, true, lastIdentity, lastAnswer))
        .onMessage(Finished.class, finished -> {
          StatusReply<BatchCopied> reply = finished.error == null
              ? StatusReply.success(BatchCopied.of(finished.copied))
              : StatusReply.error("copying a batch failed: " + Errors.summary(Errors.unwrap(finished.error)));
          waiting.forEach(replyTo -> replyTo.tell(reply));
          if (stopping) return Behaviors.stopped();
          return finished.error == null
              ? stash.unstashAll(idle(node, stash, finished.identity, finished.copied))
              : stash.unstashAll(idle(node, stash, lastIdentity, lastAnswer));
        })
        .build();
  }
}
