package io.tidemark.checkpoint;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.SupervisorStrategy;
import akka.actor.typed.javadsl.Behaviors;
import akka.pattern.StatusReply;
import akka.persistence.typed.PersistenceId;
import akka.persistence.typed.javadsl.CommandHandlerWithReply;
import akka.persistence.typed.javadsl.EventHandler;
import akka.persistence.typed.javadsl.EventSourcedBehaviorWithEnforcedReplies;
import akka.persistence.typed.javadsl.ReplyEffect;
import akka.persistence.typed.javadsl.RetentionCriteria;
import com.fasterxml.jackson.annotation.JsonCreator;
import io.tidemark.JsonSerializable;
import java.time.Duration;

/**
 * The durable checkpoint of one stream: an event-sourced entity whose events are the saved
 * tokens. It keeps only the newest checkpoint in its state and snapshots every few saves, deleting
 * older events, so recovery reads a snapshot and a handful of events.
 */
public final class CheckpointEntity
    extends EventSourcedBehaviorWithEnforcedReplies<CheckpointEntity.Command, CheckpointEntity.Event, CheckpointEntity.State> {

  public static final String ENTITY_TYPE = "tidemark-checkpoint";

  public interface Command extends JsonSerializable {}

  /** Saves a checkpoint; the reply comes once the event is durable. */
  public static final class Save implements Command {
    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final ActorRef<StatusReply<Done>> replyTo;

    @JsonCreator
    public Save(String tokenJson, Long clusterTime, long savedAtMillis, ActorRef<StatusReply<Done>> replyTo) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.replyTo = replyTo;
    }
  }

  /** Replies with the current {@link State}. */
  public static final class Get implements Command {
    public final ActorRef<State> replyTo;

    @JsonCreator
    public Get(ActorRef<State> replyTo) {
      this.replyTo = replyTo;
    }
  }

  public enum Stop implements Command {
    INSTANCE
  }

  public interface Event extends JsonSerializable {}

  public static final class TokenSaved implements Event {
    /** The resume token as JSON, or null for a checkpoint at an operation time. */
    public final String tokenJson;
    /** {@code BsonTimestamp.getValue()} of the event, or null when the server gave none. */
    public final Long clusterTime;
    public final long savedAtMillis;

    @JsonCreator
    public TokenSaved(String tokenJson, Long clusterTime, long savedAtMillis) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
    }
  }

  /** The newest saved checkpoint, as stored; empty before the first save. */
  public static final class State implements JsonSerializable {
    static final State EMPTY = new State(null, null, 0L, 0L);

    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final long saves;

    @JsonCreator
    public State(String tokenJson, Long clusterTime, long savedAtMillis, long saves) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.saves = saves;
    }

    public boolean isEmpty() {
      return saves == 0;
    }

    State apply(TokenSaved event) {
      return new State(event.tokenJson, event.clusterTime, event.savedAtMillis, saves + 1);
    }
  }

  public static PersistenceId persistenceId(String stream) {
    return PersistenceId.of(ENTITY_TYPE, stream);
  }

  public static Behavior<Command> create(String stream, JdbcCheckpointSettings settings) {
    return Behaviors.setup(context -> new CheckpointEntity(stream, settings));
  }

  private final JdbcCheckpointSettings settings;

  private CheckpointEntity(String stream, JdbcCheckpointSettings settings) {
    super(
        persistenceId(stream),
        SupervisorStrategy.restartWithBackoff(Duration.ofMillis(200), Duration.ofSeconds(5), 0.2));
    this.settings = settings;
  }

  @Override
  public State emptyState() {
    return State.EMPTY;
  }

  @Override
  public CommandHandlerWithReply<Command, Event, State> commandHandler() {
    return newCommandHandlerWithReplyBuilder()
        .forAnyState()
        .onCommand(Save.class, this::onSave)
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo, state))
        .onCommand(Stop.class, (state, stop) -> Effect().stop().thenNoReply())
        .build();
  }

  private ReplyEffect<Event, State> onSave(State state, Save save) {
    return Effect()
        .persist(new TokenSaved(save.tokenJson, save.clusterTime, save.savedAtMillis))
        .thenReply(save.replyTo, saved -> StatusReply.ack());
  }

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder().forAnyState().onEvent(TokenSaved.class, State::apply).build();
  }

  @Override
  public RetentionCriteria retentionCriteria() {
    return RetentionCriteria.snapshotEvery(settings.snapshotEvery, settings.keepSnapshots).withDeleteEventsOnSnapshot();
  }

  @Override
  public String journalPluginId() {
    return settings.journalPlugin;
  }

  @Override
  public String snapshotPluginId() {
    return settings.snapshotPlugin;
  }
}
