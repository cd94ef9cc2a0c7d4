package io.tidemark.cluster;

import io.tidemark.StreamMdc;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.AskPattern;
import akka.cluster.ddata.Key;
import akka.cluster.ddata.LWWRegister;
import akka.cluster.ddata.LWWRegisterKey;
import akka.cluster.ddata.SelfUniqueAddress;
import akka.cluster.ddata.typed.javadsl.DistributedData;
import akka.cluster.ddata.typed.javadsl.Replicator;
import com.fasterxml.jackson.annotation.JsonCreator;
import io.tidemark.Errors;
import io.tidemark.JsonSerializable;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.CheckpointReplica;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The checkpoint replica on Akka Distributed Data: one LWW register per stream
 * ({@code tidemark-token-<stream>}). Its clock orders entries by the writer's epoch first, so a
 * consumer that was fenced cannot overwrite its successor's entry, and a write never replaces an
 * entry of a newer epoch. Writes go to a majority when it answers in time, else stay local and
 * spread by gossip; a read asks a majority and falls back to the local copy.
 */
public final class TokenReplica implements CheckpointReplica {
  private static final Logger log = LoggerFactory.getLogger(TokenReplica.class);
  private static final Duration TIMEOUT = Duration.ofSeconds(2);

  /**
   * What the register holds: a safe checkpoint with its kind (an invalidate resumes with
   * startAfter, an event with resumeAfter) and the epoch of the consumer that wrote it. An entry
   * written before the kind was kept reads as an event.
   */
  public static final class Entry implements JsonSerializable {
    public final String stream;
    public final String tokenJson;
    public final Long clusterTime;
    public final long epoch;
    public final long savedAtMillis;
    public final String kind;

    @JsonCreator
    public Entry(String stream, String tokenJson, Long clusterTime, long epoch, long savedAtMillis, String kind) {
      this.stream = stream;
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.epoch = epoch;
      this.savedAtMillis = savedAtMillis;
      this.kind = kind;
    }

    static Entry of(Checkpoint safe, long epoch) {
      return new Entry(
          safe.stream(), safe.resumeToken() == null ? null : safe.resumeToken().toJson(),
          safe.clusterTime() == null ? null : safe.clusterTime().getValue(), epoch, safe.savedAt().toEpochMilli(),
          safe.kind().label());
    }

    Checkpoint checkpoint() {
      return new Checkpoint(
          stream, tokenJson == null ? null : BsonDocument.parse(tokenJson),
          clusterTime == null ? null : new BsonTimestamp(clusterTime), Instant.ofEpochMilli(savedAtMillis), epoch,
          CheckpointKind.parse(kind), null);
    }
  }

  /** Higher epoch first; within an epoch, the later write. */
  private static final LWWRegister.Clock<Entry> EPOCH_CLOCK =
      (current, entry) -> Math.max(current + 1, entry.epoch << 40);

  private final ActorSystem<?> system;
  private final ActorRef<Replicator.Command> replicator;
  private final SelfUniqueAddress self;

  private TokenReplica(ActorSystem<?> system) {
    this.system = system;
    this.replicator = DistributedData.get(system).replicator();
    this.self = DistributedData.get(system).selfUniqueAddress();
  }

  public static TokenReplica create(ActorSystem<?> system) {
    return new TokenReplica(system);
  }

  static Key<LWWRegister<Entry>> key(String stream) {
    return LWWRegisterKey.create("tidemark-token-" + stream);
  }

  @Override
  public void publish(Checkpoint safe, long epoch) {
    Entry entry = Entry.of(safe, epoch);
    AskPattern.<Replicator.Command, Replicator.UpdateResponse<LWWRegister<Entry>>>ask(
            replicator,
            replyTo -> new Replicator.Update<>(
                key(safe.stream()),
                LWWRegister.create(self, entry, EPOCH_CLOCK),
                new Replicator.WriteMajority(TIMEOUT),
                replyTo,
                current -> current.getValue().epoch > epoch ? current : current.withValue(self, entry, EPOCH_CLOCK)),
            TIMEOUT.plusSeconds(1),
            system.scheduler())
        .whenComplete((response, error) -> {
          if (error != null) StreamMdc.debug(log, safe.stream(), "stream '{}': replica write not confirmed by a majority: {}", safe.stream(), Errors.summary(error));
        });
  }

  @Override
  public CompletionStage<Optional<Checkpoint>> read(String stream) {
    return get(stream, new Replicator.ReadMajority(TIMEOUT))
        .thenCompose(found -> found != null
            ? CompletableFuture.completedFuture(found)
            : get(stream, Replicator.readLocal()))
        .thenApply(entry -> entry == null || !stream.equals(entry.stream) ? Optional.<Checkpoint>empty() : Optional.of(entry.checkpoint()))
        .exceptionally(error -> {
          StreamMdc.warn(log, stream, "stream '{}': the token replica could not be read ({}); using the durable checkpoint", stream, Errors.summary(error));
          return Optional.empty();
        });
  }

  /** The entry, or null when there is none or the read failed. */
  private CompletionStage<Entry> get(String stream, Replicator.ReadConsistency consistency) {
    Key<LWWRegister<Entry>> key = key(stream);
    return AskPattern.<Replicator.Command, Replicator.GetResponse<LWWRegister<Entry>>>ask(
            replicator, replyTo -> new Replicator.Get<>(key, consistency, replyTo), TIMEOUT.plusSeconds(1), system.scheduler())
        .thenApply(response -> response instanceof Replicator.GetSuccess<LWWRegister<Entry>> success
            ? success.get(key).getValue()
            : null)
        .exceptionally(error -> null);
  }
}
