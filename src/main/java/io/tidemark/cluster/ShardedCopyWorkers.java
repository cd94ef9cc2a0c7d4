package io.tidemark.cluster;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.Patterns;
import akka.stream.Materializer;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.source.ChunkCopier;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A snapshot's chunks copied on the nodes of the cluster: sharded copy workers
 * ({@link ShardedCopyWorker}, entity type {@code tidemark-copy-<name>}, one entity per stream,
 * collection and chunk) read each batch on their node and run its documents through the user's
 * handler there, while the stream's single consumer only asks for the batches, C chunks at a time,
 * and keeps the copy's position. Call {@link #init} on every node with the same name and handler,
 * and give the result to {@link io.tidemark.source.SnapshotSettings#withCopyWorkers}.
 *
 * <p>An ask whose answer times out ({@code tidemark.sharding.copy-ask-timeout}) is resent with
 * backoff, at most {@code tidemark.sharding.delivery-attempts} times: after a worker's node died,
 * sharding starts the chunk's entity on another node at the resend, which copies that batch again
 * (at least once). A worker's failure fails the copy's stream (the failing-stage policy applies).
 */
public final class ShardedCopyWorkers implements ChunkCopier {
  private static final Logger log = LoggerFactory.getLogger(ShardedCopyWorkers.class);

  private final ActorSystem<?> system;
  private final EntityTypeKey<ShardedCopyWorker.Command> typeKey;
  private final ShardedWorkers.Settings settings;
  private final Duration askTimeout;
  private final AtomicLong resent = new AtomicLong();

  private ShardedCopyWorkers(ActorSystem<?> system, EntityTypeKey<ShardedCopyWorker.Command> typeKey, Config config) {
    this.system = system;
    this.typeKey = typeKey;
    this.settings = ShardedWorkers.Settings.create(config);
    this.askTimeout = ConfigCheck.positiveDuration(config, "tidemark.sharding.copy-ask-timeout");
  }

  /**
   * Registers the copy workers of {@code name} on this node, reading with {@code client} (the
   * caller's: it stays open as long as the node copies); call on every node of the cluster.
   */
  public static ShardedCopyWorkers init(
      ActorSystem<?> system, String name, MongoClient client, Function<ChangeEnvelope, CompletionStage<Done>> handler) {
    Config config = system.settings().config();
    EntityTypeKey<ShardedCopyWorker.Command> typeKey = EntityTypeKey.create(ShardedCopyWorker.Command.class, "tidemark-copy-" + name);
    ShardedCopyWorker.Node node = ShardedCopyWorker.Node.of(client, handler,
        ConfigCheck.positiveInt(config, "tidemark.pipeline.parallelism"), Materializer.matFromSystem(system));
    ClusterSharding.get(system).init(Entity.of(typeKey, context -> ShardedCopyWorker.create(node)).withStopMessage(ShardedCopyWorker.Stop.INSTANCE));
    return new ShardedCopyWorkers(system, typeKey, config);
  }

  /**
   * Registers the copy workers of {@code name} on this node, reading with the node's shared clients
   * of the deployment at {@code mongoUri} (leased for the actor system's life); call on every node.
   */
  public static ShardedCopyWorkers init(
      ActorSystem<?> system, String name, String mongoUri, Function<ChangeEnvelope, CompletionStage<Done>> handler) {
    Duration connectTimeout = ConfigCheck.positiveDuration(system.settings().config(), "tidemark.mongodb.connect-timeout");
    SharedMongoClients.Lease lease = SharedMongoClients.get(system).lease(mongoUri, connectTimeout);
    system.getWhenTerminated().whenComplete((done, error) -> lease.close());
    return init(system, name, lease.client(), handler);
  }

  /** The entity of a chunk: one per stream, collection and chunk. */
  static String entityId(ChunkCopier.Batch batch) {
    return batch.stream() + "|" + batch.namespace().getFullName() + "|" + batch.chunk();
  }

  /** Asks were resent after a timed-out answer, in this process: each may have copied a batch again. */
  public long resent() {
    return resent.get();
  }

  @Override
  public CompletionStage<Copied> copy(ChunkCopier.Batch batch) {
    EntityRef<ShardedCopyWorker.Command> entity = ClusterSharding.get(system).entityRefFor(typeKey, entityId(batch));
    return send(entity, batch, 1);
  }

  private CompletionStage<Copied> send(EntityRef<ShardedCopyWorker.Command> entity, ChunkCopier.Batch batch, int attempt) {
    return entity.<ShardedCopyWorker.BatchCopied>askWithStatus(replyTo -> ShardedCopyWorker.CopyBatch.of(batch, replyTo), askTimeout)
        .thenApply(ShardedCopyWorker.BatchCopied::copied)
        .exceptionallyCompose(error -> {
          Throwable cause = Errors.unwrap(error);
          if (!(cause instanceof TimeoutException) || attempt >= settings.deliveryAttempts) {
            return CompletableFuture.failedFuture(cause);
          }
          resent.incrementAndGet();
          Duration backoff = backoff(attempt);
          StreamMdc.warn(log, batch.stream(), "stream '{}': no answer for the batch of {} from its copy worker within {} ms; resending in {} ms"
              + " (attempt {} of {})", batch.stream(), batch.describe(), askTimeout.toMillis(), backoff.toMillis(), attempt + 1,
              settings.deliveryAttempts);
          return Patterns.after(backoff, system.classicSystem(), () -> send(entity, batch, attempt + 1));
        });
  }

  private Duration backoff(int attempt) {
    Duration backoff = settings.retryMinBackoff.multipliedBy(1L << Math.min(attempt - 1, 20));
    return backoff.compareTo(settings.retryMaxBackoff) > 0 ? settings.retryMaxBackoff : backoff;
  }
}
