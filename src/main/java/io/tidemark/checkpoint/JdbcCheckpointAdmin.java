package io.tidemark.checkpoint;

import akka.actor.typed.ActorRef;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.Props;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.StatusReply;
import akka.persistence.jdbc.query.javadsl.JdbcReadJournal;
import akka.persistence.query.PersistenceQuery;
import akka.stream.javadsl.Sink;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/** {@link CheckpointAdmin} over the akka-persistence-jdbc journal: each ask goes to a short-lived entity of the stream. */
public final class JdbcCheckpointAdmin implements CheckpointAdmin {
  private final ActorSystem<?> system;
  private final JdbcCheckpointSettings settings;
  private final Duration timeout;
  private final AtomicLong incarnations = new AtomicLong();

  public JdbcCheckpointAdmin(ActorSystem<?> system, Duration timeout) {
    this.system = system;
    this.settings = JdbcCheckpointSettings.create(system);
    this.timeout = timeout;
  }

  /** Checks that the database is reachable and has checkpoint tables; fails with a clear message otherwise. */
  @Override
  public void ready() {
    JournalSchema.check(system.settings().config(), settings.journalPlugin);
  }

  /** The names of the streams with a checkpoint record, sorted. */
  @Override
  public List<String> streams() {
    JdbcReadJournal journal = PersistenceQuery.get(system).getReadJournalFor(JdbcReadJournal.class, JdbcReadJournal.Identifier());
    String prefix = CheckpointEntity.ENTITY_TYPE + "|";
    List<String> ids = await(journal.currentPersistenceIds().runWith(Sink.seq(), system), "list the streams");
    return ids.stream().filter(id -> id.startsWith(prefix)).map(id -> id.substring(prefix.length())).sorted().toList();
  }

  /** One stream's record; fails with the known streams named when there is none. */
  @Override
  public StreamState state(String stream) {
    StreamNames.validate(stream);
    CheckpointEntity.State state = withEntity(stream, entity ->
        AskPattern.ask(entity, CheckpointEntity.Get::new, timeout, system.scheduler()), "read");
    if (state.saves == 0 && state.epoch == 0) {
      List<String> known = streams();
      throw new TidemarkException("unknown stream '" + stream + "': the checkpoint database has "
          + (known.isEmpty() ? "no streams" : "these: " + String.join(", ", known)));
    }
    return describe(stream, state);
  }

  /**
   * Sets the stream's checkpoint to a time ({@code startAtOperationTime} on the next start) or a
   * token ({@code resumeAfter}); refused while a consumer holds the stream unless {@code force}.
   */
  @Override
  public StreamState rewind(String stream, BsonDocument token, BsonTimestamp time, String note, boolean force) {
    if (token == null && time == null) throw new IllegalArgumentException("rewind needs a token or a time");
    return write(stream, token == null ? null : token.toJson(), time == null ? null : time.getValue(), note, force);
  }

  /** Clears the stream's checkpoint: the next run starts at its configured position, or now. */
  @Override
  public StreamState reset(String stream, String note, boolean force) {
    return write(stream, null, null, note, force);
  }

  private StreamState write(String stream, String tokenJson, Long clusterTime, String note, boolean force) {
    StreamNames.validate(stream);
    CheckpointEntity.State state = withEntity(stream, entity -> AskPattern.askWithStatus(entity,
        (ActorRef<StatusReply<CheckpointEntity.State>> replyTo) ->
            new CheckpointEntity.Rewind(tokenJson, clusterTime, System.currentTimeMillis(), note, force, replyTo),
        timeout, system.scheduler()), "write");
    return describe(stream, state);
  }

  private StreamState describe(String stream, CheckpointEntity.State state) {
    Optional<Checkpoint> checkpoint;
    String corruption = null;
    try {
      checkpoint = JdbcCheckpointStore.decode(stream, state);
    } catch (CorruptCheckpointException e) {
      checkpoint = Optional.empty();
      corruption = e.getMessage();
    }
    return new StreamState(stream, checkpoint, corruption, state.epoch, state.holder,
        state.heldSinceMillis == 0 ? null : Instant.ofEpochMilli(state.heldSinceMillis), state.saves,
        JdbcCheckpointStore.decodeHistory(stream, state));
  }

  /** Runs one ask against a short-lived entity of the stream, and stops it. */
  private <T> T withEntity(
      String stream, java.util.function.Function<ActorRef<CheckpointEntity.Command>, CompletionStage<T>> ask, String what) {
    ActorRef<CheckpointEntity.Command> entity = system.systemActorOf(
        CheckpointEntity.create(stream, settings), "tidemark-admin-" + stream + "-" + incarnations.incrementAndGet(), Props.empty());
    try {
      return await(ask.apply(entity), what + " the checkpoint of '" + stream + "'");
    } finally {
      entity.tell(CheckpointEntity.Stop.INSTANCE);
    }
  }

  private <T> T await(CompletionStage<T> stage, String what) {
    try {
      return stage.toCompletableFuture().get(timeout.toMillis() + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TidemarkException("interrupted while trying to " + what);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = Errors.unwrap(e);
      if (cause instanceof TidemarkException tidemark) throw tidemark;
      if (cause instanceof StatusReply.ErrorMessage refused) {
        throw new TidemarkException(refused.getMessage().replace(CheckpointEntity.REFUSED, "refused: "));
      }
      throw new TidemarkException("could not " + what + " within " + timeout.toSeconds() + "s: " + Errors.summary(cause)
          + " (is the checkpoint database reachable, and not locked by a running Tidemark?)");
    }
  }
}
