package io.tidemark.cluster;

import akka.Done;
import akka.actor.typed.ActorRef;
import akka.actor.typed.Behavior;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.StashBuffer;
import akka.pattern.StatusReply;
import com.fasterxml.jackson.annotation.JsonCreator;
import io.tidemark.Errors;
import io.tidemark.JsonSerializable;
import io.tidemark.source.ChangeEnvelope;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Function;
import org.bson.BsonDocument;

/**
 * The sharded entity that runs the user's handler for the events of one documentKey. It handles one
 * event at a time (the next waits in the stash until the handler's future completes), so events
 * of a key run in the order they arrive. The pipeline resends an event whose answer timed out; an
 * event equal to the last one completed (same resume token) is acknowledged without running the
 * handler again.
 *
 * <p>Sharding stops an entity with {@link Stop} when its shard moves (a rebalance, a node leaving)
 * or it is passivated. A busy entity stops only once its handler has finished: otherwise the
 * resend would run the key's next handler on the new node while the old one still runs, and two
 * writes of one key would race. (Sharding waits for the entity, bounded by its hand-off timeout.)
 */
public final class ShardedWorker {
  private ShardedWorker() {}

  public interface Command extends JsonSerializable {}

  /** Run the handler for one event, given as the server's BSON in extended JSON. */
  public static final class Process implements Command {
    public final String stream;
    public final long seqNr;
    public final String eventJson;
    public final ActorRef<StatusReply<Done>> replyTo;

    @JsonCreator
    public Process(String stream, long seqNr, String eventJson, ActorRef<StatusReply<Done>> replyTo) {
      this.stream = stream;
      this.seqNr = seqNr;
      this.eventJson = eventJson;
      this.replyTo = replyTo;
    }
  }

  /** Stop when idle; sharding's stop message. */
  public enum Stop implements Command {
    INSTANCE
  }

  private static final class Finished implements Command {
    final Process process;
    final BsonDocument token;
    final Throwable error;

    Finished(Process process, BsonDocument token, Throwable error) {
      this.process = process;
      this.token = token;
      this.error = error;
    }
  }

  static final int STASH = 10_000;

  public static Behavior<Command> create(Function<ChangeEnvelope, CompletionStage<Done>> handler) {
    return Behaviors.withStash(STASH, stash -> idle(handler, stash, null));
  }

  private static Behavior<Command> idle(
      Function<ChangeEnvelope, CompletionStage<Done>> handler, StashBuffer<Command> stash, BsonDocument lastDone) {
    return Behaviors.receive(Command.class)
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .onMessage(Process.class, process -> {
          ChangeEnvelope envelope;
          try {
            envelope = ChangeEnvelope.fromEventDocument(process.seqNr, BsonDocument.parse(process.eventJson));
          } catch (RuntimeException e) {
            process.replyTo.tell(StatusReply.error("unreadable event #" + process.seqNr + ": " + Errors.summary(e)));
            return Behaviors.same();
          }
          if (envelope.resumeToken() != null && envelope.resumeToken().equals(lastDone)) { // snapshot documents have no token
            process.replyTo.tell(StatusReply.ack());
            return Behaviors.same();
          }
          return Behaviors.setup(context -> {
            CompletionStage<Done> work;
            try {
              work = handler.apply(envelope);
            } catch (RuntimeException e) {
              work = CompletableFuture.failedFuture(e);
            }
            context.pipeToSelf(work, (done, error) -> new Finished(process, envelope.resumeToken(), error));
            return busy(handler, stash, lastDone, false);
          });
        })
        .build();
  }

  private static Behavior<Command> busy(
      Function<ChangeEnvelope, CompletionStage<Done>> handler, StashBuffer<Command> stash, BsonDocument lastDone, boolean stopping) {
    return Behaviors.receive(Command.class)
        .onMessage(Process.class, process -> {
          // While stopping, the pipeline resends after its timeout, to wherever the shard lives next.
          if (!stopping) stash.stash(process);
          return Behaviors.same();
        })
        .onMessage(Stop.class, stop -> busy(handler, stash, lastDone, true))
        .onMessage(Finished.class, finished -> {
          if (finished.error == null) finished.process.replyTo.tell(StatusReply.ack());
          else finished.process.replyTo.tell(StatusReply.error(Errors.summary(finished.error)));
          if (stopping) return Behaviors.stopped();
          return stash.unstashAll(idle(handler, stash, finished.error == null ? finished.token : lastDone));
        })
        .build();
  }
}
