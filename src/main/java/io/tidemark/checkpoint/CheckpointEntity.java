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
 * The durable checkpoint of one stream: an event-sourced entity whose events are the saved tokens
 * and the fencing epochs consumers take. It keeps only the newest checkpoint and epoch in its state
 * and snapshots every few saves, deleting older events, so recovery reads a snapshot and a handful
 * of events.
 *
 * <p>Fencing holds across nodes even when two nodes each run an entity for the same stream (a
 * partitioned old leader and its successor): the journal's unique (persistence id, sequence number)
 * lets only one of two concurrent writes through; the other entity fails, recovers, sees the newer
 * epoch, and refuses the stale consumer's write.
 */
@akka.annotation.InternalApi
public final class CheckpointEntity
    extends EventSourcedBehaviorWithEnforcedReplies<CheckpointEntity.Command, CheckpointEntity.Event, CheckpointEntity.State> {

  public static final String ENTITY_TYPE = "tidemark-checkpoint";

  public interface Command extends JsonSerializable {}

  /**
   * Saves a checkpoint written by the consumer holding {@code epoch}; the reply comes once the
   * event is durable. Refused, without writing, when a newer epoch was taken since, or when the
   * checkpoint would move backwards.
   */
  public static final class Save implements Command {
    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final long epoch;
    public final String kind;
    public final String note;
    /** A snapshot in progress, as JSON ({@code {}} or {@code {"_id": ...}}); null otherwise. */
    public final String snapshotJson;
    public final ActorRef<StatusReply<Done>> replyTo;

    @JsonCreator
    public Save(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, String kind, String note,
        String snapshotJson, ActorRef<StatusReply<Done>> replyTo) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.epoch = epoch;
      this.kind = kind;
      this.note = note;
      this.snapshotJson = snapshotJson;
      this.replyTo = replyTo;
    }

    public Save(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, String kind, String note,
        ActorRef<StatusReply<Done>> replyTo) {
      this(tokenJson, clusterTime, savedAtMillis, epoch, kind, note, null, replyTo);
    }

    /** A checkpoint after processed events. */
    public Save(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, ActorRef<StatusReply<Done>> replyTo) {
      this(tokenJson, clusterTime, savedAtMillis, epoch, CheckpointKind.EVENT.label(), null, null, replyTo);
    }
  }

  /** Takes the next fencing epoch; replies with the state that holds it. */
  public static final class Acquire implements Command {
    public final ActorRef<State> replyTo;

    @JsonCreator
    public Acquire(ActorRef<State> replyTo) {
      this.replyTo = replyTo;
    }
  }

  /** The consumer holding {@code epoch} stops: the stream is free (when no newer consumer took it). */
  public static final class Release implements Command {
    public final long epoch;
    public final ActorRef<Done> replyTo;

    @JsonCreator
    public Release(long epoch, ActorRef<Done> replyTo) {
      this.epoch = epoch;
      this.replyTo = replyTo;
    }
  }

  /**
   * Sets the checkpoint by hand, backwards or forwards, and takes a new epoch so that no earlier
   * consumer can write after it; or, with neither token nor time, clears it (a reset: the next run
   * starts at its configured position or now). Refused while a consumer holds the stream, unless
   * {@code force} (which fences that consumer out).
   */
  public static final class Rewind implements Command {
    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final String note;
    public final boolean force;
    public final ActorRef<StatusReply<State>> replyTo;

    @JsonCreator
    public Rewind(String tokenJson, Long clusterTime, long savedAtMillis, String note, boolean force, ActorRef<StatusReply<State>> replyTo) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.note = note;
      this.force = force;
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
    /** The epoch of the consumer that saved it. */
    public final long epoch;
    /** Why: event, heartbeat, start, gap, invalidate, rewind ({@link CheckpointKind}). */
    public final String kind;
    /** What a gap skipped or why it was rewound; null otherwise. */
    public final String note;
    /** A snapshot in progress, as JSON; null otherwise, and in events written before snapshots existed. */
    public final String snapshotJson;

    @JsonCreator
    public TokenSaved(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, String kind, String note, String snapshotJson) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.epoch = epoch;
      this.kind = kind;
      this.note = note;
      this.snapshotJson = snapshotJson;
    }

    public TokenSaved(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, String kind, String note) {
      this(tokenJson, clusterTime, savedAtMillis, epoch, kind, note, null);
    }
  }

  /** One line of a stream's checkpoint history. */
  public static final class HistoryEntry implements JsonSerializable {
    public final String kind;
    public final String tokenJson;
    public final Long clusterTime;
    public final long epoch;
    public final long savedAtMillis;
    public final String note;
    /** A snapshot in progress, as JSON; null otherwise. */
    public final String snapshotJson;

    @JsonCreator
    public HistoryEntry(String kind, String tokenJson, Long clusterTime, long epoch, long savedAtMillis, String note, String snapshotJson) {
      this.kind = kind;
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.epoch = epoch;
      this.savedAtMillis = savedAtMillis;
      this.note = note;
      this.snapshotJson = snapshotJson;
    }

    public HistoryEntry(String kind, String tokenJson, Long clusterTime, long epoch, long savedAtMillis, String note) {
      this(kind, tokenJson, clusterTime, epoch, savedAtMillis, note, null);
    }
  }

  /** A consumer took the stream: from now on only writes with this epoch or newer are accepted. */
  public static final class EpochTaken implements Event {
    public final long epoch;
    /** When; null in events written before it was recorded. */
    public final Long atMillis;

    @JsonCreator
    public EpochTaken(long epoch, Long atMillis) {
      this.epoch = epoch;
      this.atMillis = atMillis;
    }
  }

  /** The consumer holding this epoch stopped and let go of the stream. */
  public static final class EpochReleased implements Event {
    public final long epoch;

    @JsonCreator
    public EpochReleased(long epoch) {
      this.epoch = epoch;
    }
  }

  /** The checkpoint was set (or cleared, with neither token nor time) by hand, under a new epoch. */
  public static final class Rewound implements Event {
    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final long epoch;
    public final String note;

    @JsonCreator
    public Rewound(String tokenJson, Long clusterTime, long savedAtMillis, long epoch, String note) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.epoch = epoch;
      this.note = note;
    }
  }

  /** The newest saved checkpoint, as stored, and the newest epoch taken; empty before the first save. */
  public static final class State implements JsonSerializable {
    static final State EMPTY = new State(null, null, 0L, 0L, 0L, 0L, null, null, java.util.List.of(), 0L, 0L, null);

    public final String tokenJson;
    public final Long clusterTime;
    public final long savedAtMillis;
    public final long saves;
    /** The newest epoch taken by any consumer. */
    public final long epoch;
    /** The epoch of the consumer that wrote the stored checkpoint. */
    public final long writerEpoch;
    public final String kind;
    public final String note;
    /** The newest checkpoints, oldest first: at most {@code history-size} routine ones and as many notable ones. */
    public final java.util.List<HistoryEntry> history;
    /** The epoch of the consumer holding the stream now (taken, not released), or 0. */
    public final long holder;
    /** When the holder took the stream (0: not known). */
    public final long heldSinceMillis;
    /** The snapshot in progress at the stored checkpoint, as JSON; null otherwise (and in older snapshots). */
    public final String snapshotJson;

    @JsonCreator
    public State(String tokenJson, Long clusterTime, long savedAtMillis, long saves, long epoch, long writerEpoch,
        String kind, String note, java.util.List<HistoryEntry> history, long holder, long heldSinceMillis, String snapshotJson) {
      // List.copyOf refuses a null entry, as it did when this constructor copied the list itself.
      this(tokenJson, clusterTime, savedAtMillis, saves, epoch, writerEpoch, kind, note,
          history == null ? new HistoryEntry[0] : java.util.List.copyOf(history).toArray(HistoryEntry[]::new), holder, heldSinceMillis,
          snapshotJson);
    }

    public State(String tokenJson, Long clusterTime, long savedAtMillis, long saves, long epoch, long writerEpoch,
        String kind, String note, java.util.List<HistoryEntry> history, long holder, long heldSinceMillis) {
      this(tokenJson, clusterTime, savedAtMillis, saves, epoch, writerEpoch, kind, note, history, holder, heldSinceMillis, null);
    }

    /** No checkpoint: never saved, or reset. */
    public boolean isEmpty() {
      return tokenJson == null && clusterTime == null;
    }

    /** A state that takes {@code history} as it is: already a list of its own, which nothing else changes. */
    private State(String tokenJson, Long clusterTime, long savedAtMillis, long saves, long epoch, long writerEpoch,
        String kind, String note, HistoryEntry[] history, long holder, long heldSinceMillis, String snapshotJson) {
      this.tokenJson = tokenJson;
      this.clusterTime = clusterTime;
      this.savedAtMillis = savedAtMillis;
      this.saves = saves;
      this.epoch = epoch;
      this.writerEpoch = writerEpoch;
      this.kind = kind;
      this.note = note;
      this.history = java.util.Collections.unmodifiableList(java.util.Arrays.asList(history));
      this.holder = holder;
      this.heldSinceMillis = heldSinceMillis;
      this.snapshotJson = snapshotJson;
    }

    State apply(TokenSaved event, int historySize) {
      HistoryEntry[] kept = appended(history, new HistoryEntry(
          event.kind, event.tokenJson, event.clusterTime, event.epoch, event.savedAtMillis, event.note, event.snapshotJson), historySize);
      return new State(event.tokenJson, event.clusterTime, event.savedAtMillis, saves + 1, Math.max(epoch, event.epoch),
          event.epoch, event.kind, event.note, kept, holder, heldSinceMillis, event.snapshotJson);
    }

    State apply(Rewound event, int historySize) {
      boolean reset = event.tokenJson == null && event.clusterTime == null;
      String kind = reset ? CheckpointKind.RESET.label() : CheckpointKind.REWIND.label();
      HistoryEntry[] kept = appended(history,
          new HistoryEntry(kind, event.tokenJson, event.clusterTime, event.epoch, event.savedAtMillis, event.note), historySize);
      return new State(event.tokenJson, event.clusterTime, event.savedAtMillis, saves + 1, Math.max(epoch, event.epoch),
          event.epoch, kind, event.note, kept, 0L, 0L, null);
    }

    State apply(EpochReleased event) {
      return holder != event.epoch ? this
          : new State(tokenJson, clusterTime, savedAtMillis, saves, epoch, writerEpoch, kind, note, history, 0L, 0L, snapshotJson);
    }

    /**
     * The history with {@code entry} added, in one new array: the newest {@code size} routine entries (event,
     * heartbeat, snapshot progress) and, apart from them, the newest {@code size} notable ones (gap,
     * invalidate, start, rewind), so that a gap stays in the history however many events follow it.
     * (Once per save: one pass to count, one to copy what is kept; each entry's kind is read once.)
     */
    static HistoryEntry[] appended(java.util.List<HistoryEntry> history, HistoryEntry entry, int size) {
      int n = history.size() + 1;
      boolean[] routine = new boolean[n];
      int routines = 0;
      for (int i = 0; i < n; i++) {
        routine[i] = isRoutine(i < n - 1 ? history.get(i) : entry);
        if (routine[i]) routines++;
      }
      int dropRoutine = Math.max(0, routines - size);
      int dropNotable = Math.max(0, n - routines - size);
      HistoryEntry[] kept = new HistoryEntry[n - dropRoutine - dropNotable];
      int k = 0;
      for (int i = 0; i < n; i++) {
        if (routine[i] ? dropRoutine-- > 0 : dropNotable-- > 0) continue; // the oldest of each kind go first
        kept[k++] = i < n - 1 ? history.get(i) : entry;
      }
      return kept;
    }

    static boolean isRoutine(HistoryEntry entry) {
      String kind = entry.kind;
      // The labels as written (CheckpointKind.label()); anything else is parsed as before.
      if ("event".equals(kind) || "heartbeat".equals(kind) || "snapshot".equals(kind) || kind == null) return true;
      CheckpointKind parsed = CheckpointKind.parse(kind);
      return parsed == CheckpointKind.EVENT || parsed == CheckpointKind.HEARTBEAT || parsed == CheckpointKind.SNAPSHOT;
    }

    State apply(EpochTaken event) {
      return new State(tokenJson, clusterTime, savedAtMillis, saves, Math.max(epoch, event.epoch), writerEpoch, kind, note, history,
          event.epoch, event.atMillis == null ? 0L : event.atMillis, snapshotJson);
    }

    /** Why a rewind must be refused, or null. */
    String refusal(Rewind rewind) {
      if (holder == 0 || rewind.force) return null;
      return "the consumer with epoch " + holder + " holds the stream"
          + (heldSinceMillis > 0 ? " (since " + java.time.Instant.ofEpochMilli(heldSinceMillis) + ")" : "")
          + ": stop it first; a consumer that crashed never lets go: then pass --force, which fences it out";
    }

    /** Why a save must be refused, or null. */
    String refusal(Save save) {
      if (save.epoch < epoch) {
        return "epoch " + save.epoch + " is older than the stream's epoch " + epoch + ": another consumer has taken the stream";
      }
      // A gap may move back: a fault policy chose where the stream goes on (the oldest entry of the oplog can be older).
      boolean gap = CheckpointKind.parse(save.kind) == CheckpointKind.GAP;
      if (!gap && save.clusterTime != null && clusterTime != null && Long.compareUnsigned(save.clusterTime, clusterTime) < 0) {
        return "it would move the checkpoint backwards, from cluster time " + describe(clusterTime) + " to " + describe(save.clusterTime);
      }
      return null;
    }

    private static String describe(long time) {
      return "Timestamp(" + (time >>> 32) + ", " + (time & 0xffffffffL) + ")";
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
        .onCommand(Acquire.class, (state, acquire) ->
            Effect().persist(new EpochTaken(state.epoch + 1, System.currentTimeMillis())).thenReply(acquire.replyTo, taken -> taken))
        .onCommand(Release.class, (state, release) -> state.holder == release.epoch
            ? Effect().persist(new EpochReleased(release.epoch)).thenReply(release.replyTo, released -> Done.getInstance())
            : Effect().reply(release.replyTo, Done.getInstance()))
        .onCommand(Rewind.class, this::onRewind)
        .onCommand(Get.class, (state, get) -> Effect().reply(get.replyTo, state))
        .onCommand(Stop.class, (state, stop) -> Effect().stop().thenNoReply())
        .build();
  }

  private ReplyEffect<Event, State> onSave(State state, Save save) {
    String refusal = state.refusal(save);
    if (refusal != null) {
      return Effect().reply(save.replyTo, StatusReply.error(REFUSED + refusal));
    }
    return Effect()
        .persist(new TokenSaved(save.tokenJson, save.clusterTime, save.savedAtMillis, save.epoch, save.kind, save.note, save.snapshotJson))
        .thenReply(save.replyTo, saved -> StatusReply.ack());
  }

  private ReplyEffect<Event, State> onRewind(State state, Rewind rewind) {
    String refusal = state.refusal(rewind);
    if (refusal != null) return Effect().reply(rewind.replyTo, StatusReply.error(REFUSED + refusal));
    return Effect()
        .persist(new Rewound(rewind.tokenJson, rewind.clusterTime, rewind.savedAtMillis, state.epoch + 1, rewind.note))
        .thenReply(rewind.replyTo, StatusReply::success);
  }

  /** Prefix of the error reply to a refused save. */
  static final String REFUSED = "checkpoint refused: ";

  @Override
  public EventHandler<State, Event> eventHandler() {
    return newEventHandlerBuilder()
        .forAnyState()
        .onEvent(TokenSaved.class, (state, saved) -> state.apply(saved, settings.historySize))
        .onEvent(EpochTaken.class, State::apply)
        .onEvent(EpochReleased.class, State::apply)
        .onEvent(Rewound.class, (state, rewound) -> state.apply(rewound, settings.historySize))
        .build();
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
