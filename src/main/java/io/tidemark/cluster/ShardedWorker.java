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
            return busy(handler, stash, lastDone);
          });
        })
        .build();
  }

  private static Behavior<Command> busy(
      Function<ChangeEnvelope, CompletionStage<Done>> handler, StashBuffer<Command> stash, BsonDocument lastDone) {
    return Behaviors.receive(Command.class)
        .onMessage(Process.class, process -> {
          stash.stash(process);
          return Behaviors.same();
        })
        .onMessage(Finished.class, finished -> {
          if (finished.error == null) {
            finished.process.replyTo.tell(StatusReply.ack());
            return stash.unstashAll(idle(handler, stash, finished.token));
          }
          finished.process.replyTo.tell(StatusReply.error(Errors.summary(finished.error)));
          return stash.unstashAll(idle(handler, stash, lastDone));
        })
        .build();
  }
}
