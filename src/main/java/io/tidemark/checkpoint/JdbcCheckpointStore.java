package io.tidemark.checkpoint;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.StatusReply;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints in akka-persistence-jdbc: one {@link CheckpointEntity} per stream, persistence id
 * {@code tidemark-checkpoint|<stream>}, so two streams never share a record. H2 for the embedded
 * default, PostgreSQL in production, whichever database the configured journal plugin uses.
 */
public final class JdbcCheckpointStore implements CheckpointStore {
  private static final Logger log = LoggerFactory.getLogger(JdbcCheckpointStore.class);

  private final ActorSystem<?> system;
  private final JdbcCheckpointSettings settings;
  private final CompletionStage<Done> schemaReady;
  private final ConcurrentHashMap<String, Handle> openStreams = new ConcurrentHashMap<>();
  private final AtomicLong incarnations = new AtomicLong();

  private JdbcCheckpointStore(ActorSystem<?> system, JdbcCheckpointSettings settings) {
    this.system = system;
    this.settings = settings;
    this.schemaReady =
        settings.createSchema
            ? CompletableFuture.runAsync(
                    () -> JournalSchema.createIfMissing(system.settings().config(), settings.journalPlugin),
                    system.dispatchers().lookup(DispatcherSelector.blocking()))
                .thenApply(nothing -> Done.getInstance())
            : CompletableFuture.completedFuture(Done.getInstance());
  }

  public static JdbcCheckpointStore create(ActorSystem<?> system) {
    return new JdbcCheckpointStore(system, JdbcCheckpointSettings.create(system));
  }

  public static JdbcCheckpointStore create(ActorSystem<?> system, JdbcCheckpointSettings settings) {
    return new JdbcCheckpointStore(system, settings);
  }

  /** Completes when the schema exists (or at once when {@code create-schema = off}). */
  public CompletionStage<Done> ready() {
    return schemaReady;
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    StreamNames.validate(stream);
    return schemaReady.thenApply(
        ready -> {
          Handle handle = new Handle(stream);
          if (openStreams.putIfAbsent(stream, handle) != null) {
            throw new TidemarkException(
                "stream '" + stream + "' is already open in this process: run one pipeline per stream");
          }
          handle.start();
          return handle;
        });
  }

  private final class Handle implements StreamCheckpoints {
    private final String stream;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile ActorRef<CheckpointEntity.Command> entity;
    private volatile long acquired;

    Handle(String stream) {
      this.stream = stream;
    }

    void start() {
      entity =
          system.systemActorOf(
              CheckpointEntity.create(stream, settings),
              "tidemark-checkpoint-" + stream + "-" + incarnations.incrementAndGet(),
              Props.empty());
    }

    @Override
    public String stream() {
      return stream;
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      CompletionStage<CheckpointEntity.State> reply =
          AskPattern.ask(entity, CheckpointEntity.Acquire::new, settings.askTimeout, system.scheduler());
      return unavailableOnTimeout(reply, "acquire").thenApply(state -> {
        acquired = state.epoch;
        try {
          return new Acquired(state.epoch, decode(stream, state));
        } catch (CorruptCheckpointException corrupt) {
          return new Acquired(state.epoch, Optional.empty(), corrupt);
        }
      });
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      CompletionStage<CheckpointEntity.State> reply =
          AskPattern.ask(entity, CheckpointEntity.Get::new, settings.askTimeout, system.scheduler());
      return unavailableOnTimeout(reply, "load").thenApply(state -> decode(stream, state));
    }

    @Override
    public CompletionStage<java.util.List<Checkpoint>> history() {
      CompletionStage<CheckpointEntity.State> reply =
          AskPattern.ask(entity, CheckpointEntity.Get::new, settings.askTimeout, system.scheduler());
      return unavailableOnTimeout(reply, "history").thenApply(state -> decodeHistory(stream, state));
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (!checkpoint.stream().equals(stream)) {
        throw new IllegalArgumentException(
            "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
      }
      if (closed.get()) {
        return CompletableFuture.failedFuture(new IllegalStateException("checkpoints of '" + stream + "' are closed"));
      }
      BsonDocument token = checkpoint.resumeToken();
      BsonTimestamp time = checkpoint.clusterTime();
      CompletionStage<Done> reply =
          AskPattern.askWithStatus(
              entity,
              replyTo ->
                  new CheckpointEntity.Save(
                      token == null ? null : token.toJson(),
                      time == null ? null : time.getValue(),
                      checkpoint.savedAt().toEpochMilli(),
                      epoch,
                      checkpoint.kind().label(),
                      checkpoint.note(),
                      checkpoint.snapshotJson(),
                      replyTo),
              settings.askTimeout,
              system.scheduler());
      return unavailableOnTimeout(reply, "save");
    }

    @Override
    public CompletionStage<Done> close() {
      if (closed.compareAndSet(false, true)) {
        // Let go of the stream (rewind and reset are refused while it is held); then stop, after the write.
        if (acquired > 0) entity.tell(new CheckpointEntity.Release(acquired, system.ignoreRef()));
        entity.tell(CheckpointEntity.Stop.INSTANCE);
        openStreams.remove(stream, this);
      }
      return CompletableFuture.completedFuture(Done.getInstance());
    }

    private <T> CompletionStage<T> unavailableOnTimeout(CompletionStage<T> reply, String what) {
      return reply.exceptionallyCompose(
          error -> {
            Throwable cause = Errors.unwrap(error);
            if (cause instanceof StatusReply.ErrorMessage refused
                && refused.getMessage().startsWith(CheckpointEntity.REFUSED)) {
              StreamMdc.warn(log, stream, "stream '{}': {}", stream, refused.getMessage());
              return CompletableFuture.failedFuture(new FencedException("stream '" + stream + "': " + refused.getMessage()));
            }
            if (cause instanceof TimeoutException) {
              StreamMdc.warn(log, stream, "stream '{}': checkpoint {} got no answer within {}", stream, what, settings.askTimeout);
              return CompletableFuture.failedFuture(
                  new CheckpointStoreUnavailableException(
                      "stream '" + stream + "': checkpoint " + what + " got no answer within "
                          + settings.askTimeout.toMillis() + "ms (tidemark.checkpoint.jdbc.ask-timeout)",
                      cause));
            }
            return CompletableFuture.failedFuture(
                new CheckpointStoreUnavailableException(
                    "stream '" + stream + "': checkpoint " + what + " failed: " + Errors.summary(cause), cause));
          });
    }
  }

  static java.util.List<Checkpoint> decodeHistory(String stream, CheckpointEntity.State state) {
    java.util.List<Checkpoint> history = new java.util.ArrayList<>();
    for (CheckpointEntity.HistoryEntry entry : state.history) {
      try {
        BsonDocument token = entry.tokenJson == null ? null : BsonDocument.parse(entry.tokenJson);
        BsonTimestamp time = entry.clusterTime == null ? null : new BsonTimestamp(entry.clusterTime);
        history.add(new Checkpoint(
            stream, token, time, Instant.ofEpochMilli(entry.savedAtMillis), entry.epoch, CheckpointKind.parse(entry.kind), entry.note,
            Checkpoint.parseSnapshot(entry.snapshotJson)));
      } catch (RuntimeException unparsable) {
        StreamMdc.warn(log, stream, "stream '{}': a history entry saved at {} does not parse; left out", stream, Instant.ofEpochMilli(entry.savedAtMillis));
      }
    }
    return history;
  }

  /** Turns a stored state into a checkpoint, refusing what cannot be a resume position. */
  static Optional<Checkpoint> decode(String stream, CheckpointEntity.State state) {
    if (state.isEmpty()) return Optional.empty();
    BsonDocument token = null;
    if (state.tokenJson != null) {
      try {
        token = BsonDocument.parse(state.tokenJson);
      } catch (RuntimeException e) {
        throw new CorruptCheckpointException(stream, state.tokenJson, "is not valid JSON: " + Errors.oneLine(e.getMessage()));
      }
      if (!token.containsKey("_data")) {
        throw new CorruptCheckpointException(stream, state.tokenJson, "has no _data field");
      }
    }
    BsonTimestamp time = state.clusterTime == null ? null : new BsonTimestamp(state.clusterTime);
    BsonDocument snapshot;
    try {
      snapshot = Checkpoint.parseSnapshot(state.snapshotJson);
    } catch (RuntimeException e) {
      throw new CorruptCheckpointException(stream, state.snapshotJson, "is not a snapshot position: " + Errors.oneLine(e.getMessage()));
    }
    try {
      return Optional.of(new Checkpoint(
          stream, token, time, Instant.ofEpochMilli(state.savedAtMillis), state.writerEpoch, CheckpointKind.parse(state.kind), state.note,
          snapshot));
    } catch (IllegalArgumentException e) {
      throw new CorruptCheckpointException(stream, state.tokenJson, Errors.oneLine(e.getMessage()));
    }
  }
}
