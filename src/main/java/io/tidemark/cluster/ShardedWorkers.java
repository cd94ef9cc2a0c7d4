package io.tidemark.cluster;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.cluster.sharding.typed.javadsl.ClusterSharding;
import akka.cluster.sharding.typed.javadsl.Entity;
import akka.cluster.sharding.typed.javadsl.EntityRef;
import akka.cluster.sharding.typed.javadsl.EntityTypeKey;
import akka.pattern.Patterns;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The user's per-event handler, run in sharded entities keyed by documentKey, so that one reader
 * feeds every node of the cluster. Call {@link #init} on every node, with the same name and
 * handler; the pipeline sends each event with an ask, resent with backoff when the answer times
 * out (at-least-once delivery). Per-key order comes from the pipeline's lanes: an event is sent
 * only after the previous event of its key was answered.
 */
public final class ShardedWorkers implements EventHandler {
  private static final Logger log = LoggerFactory.getLogger(ShardedWorkers.class);
  private static final JsonWriterSettings EXTENDED_JSON = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();

  /** Timeouts and resends, from {@code tidemark.sharding}. */
  public static final class Settings {
    public final Duration askTimeout;
    public final int deliveryAttempts;
    public final Duration retryMinBackoff;
    public final Duration retryMaxBackoff;

    private Settings(Duration askTimeout, int deliveryAttempts, Duration retryMinBackoff, Duration retryMaxBackoff) {
      this.askTimeout = askTimeout;
      this.deliveryAttempts = deliveryAttempts;
      this.retryMinBackoff = retryMinBackoff;
      this.retryMaxBackoff = retryMaxBackoff;
    }

    public static Settings create(Config config) {
      String p = "tidemark.sharding.";
      return new Settings(
          ConfigCheck.positiveDuration(config, p + "ask-timeout"),
          ConfigCheck.positiveInt(config, p + "delivery-attempts"),
          ConfigCheck.positiveDuration(config, p + "retry-min-backoff"),
          ConfigCheck.positiveDuration(config, p + "retry-max-backoff"));
    }
  }

  private final ActorSystem<?> system;
  private final EntityTypeKey<ShardedWorker.Command> typeKey;
  private final Settings settings;

  private ShardedWorkers(ActorSystem<?> system, EntityTypeKey<ShardedWorker.Command> typeKey, Settings settings) {
    this.system = system;
    this.typeKey = typeKey;
    this.settings = settings;
  }

  /** Registers the entity type on this node; call on every node of the cluster. */
  public static ShardedWorkers init(ActorSystem<?> system, String name, Function<ChangeEnvelope, CompletionStage<Done>> handler) {
    EntityTypeKey<ShardedWorker.Command> typeKey = EntityTypeKey.create(ShardedWorker.Command.class, "tidemark-worker-" + name);
    ClusterSharding.get(system).init(Entity.of(typeKey, context -> ShardedWorker.create(handler)).withStopMessage(ShardedWorker.Stop.INSTANCE));
    return new ShardedWorkers(system, typeKey, Settings.create(system.settings().config()));
  }

  /** The entity of an event: one per stream and documentKey. */
  static String entityId(String stream, ChangeEnvelope envelope) {
    return stream + "|" + (envelope.documentKey() == null ? "-" : envelope.documentKey().toJson());
  }

  /** Sends one event to its entity; completes when the handler has, resending after a timed-out answer. */
  @Override
  public CompletionStage<Done> handle(String stream, ChangeEnvelope envelope) {
    EntityRef<ShardedWorker.Command> entity = ClusterSharding.get(system).entityRefFor(typeKey, entityId(stream, envelope));
    String eventJson = envelope.eventDocument().toJson(EXTENDED_JSON);
    return send(entity, stream, envelope, eventJson, 1);
  }

  private CompletionStage<Done> send(
      EntityRef<ShardedWorker.Command> entity, String stream, ChangeEnvelope envelope, String eventJson, int attempt) {
    return entity.<Done>askWithStatus(
            replyTo -> new ShardedWorker.Process(stream, envelope.seqNr(), eventJson, replyTo), settings.askTimeout)
        .exceptionallyCompose(error -> {
          Throwable cause = Errors.unwrap(error);
          if (!(cause instanceof TimeoutException) || attempt >= settings.deliveryAttempts) {
            return CompletableFuture.failedFuture(cause);
          }
          Duration backoff = backoff(attempt);
          StreamMdc.warn(log, stream, "stream '{}': no answer for event #{} from its worker within {} ms; resending in {} ms (attempt {} of {})",
              stream, envelope.seqNr(), settings.askTimeout.toMillis(), backoff.toMillis(), attempt + 1, settings.deliveryAttempts);
          return Patterns.after(backoff, system.classicSystem(), () -> send(entity, stream, envelope, eventJson, attempt + 1));
        });
  }

  private Duration backoff(int attempt) {
    Duration backoff = settings.retryMinBackoff.multipliedBy(1L << Math.min(attempt - 1, 20));
    return backoff.compareTo(settings.retryMaxBackoff) > 0 ? settings.retryMaxBackoff : backoff;
  }
}
