package io.tidemark.cluster;

import io.tidemark.StreamMdc;

import akka.Done;
import akka.actor.typed.Behavior;
import akka.actor.typed.PostStop;
import akka.actor.typed.javadsl.AbstractBehavior;
import akka.actor.typed.javadsl.ActorContext;
import akka.actor.typed.javadsl.Behaviors;
import akka.actor.typed.javadsl.Receive;
import io.tidemark.Errors;
import io.tidemark.JsonSerializable;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.PipelineControl;
import java.util.function.Consumer;

/**
 * Runs one pipeline for as long as it lives. {@link Stop} drains the stream and saves the safe
 * token before the actor stops, so a singleton handover loses nothing and replays little. A
 * failure that retrying can fix fails the actor (its supervisor restarts it, and the pipeline
 * resumes from its checkpoint). A failure a person must fix (bad configuration, a fatal fault) or
 * a fence (another consumer holds the stream) is reported, and the consumer stays, idle, until it
 * is stopped: a sharded daemon process's keep-alive would start a stopped one again, every few
 * seconds, forever.
 */
public final class StreamConsumer extends AbstractBehavior<StreamConsumer.Command> {

  public interface Command extends JsonSerializable {}

  /** Drain, save, stop: the singleton's stop message. */
  public enum Stop implements Command {
    INSTANCE
  }

  private static final class Finished implements Command {
    final Throwable error;

    Finished(Throwable error) {
      this.error = error;
    }
  }

  /** The pipeline failed in a way a restart may fix. */
  static final class StreamFailedException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StreamFailedException(String stream, Throwable cause) {
      super("stream '" + stream + "' failed: " + Errors.summary(cause), cause);
    }
  }

  public static Behavior<Command> create(PipelineBuilder<?> pipeline, Consumer<Throwable> onFatal) {
    return Behaviors.setup(context -> new StreamConsumer(context, pipeline, onFatal));
  }

  private final PipelineBuilder<?> pipeline;
  private final Consumer<Throwable> onFatal;
  private final PipelineControl control;
  private boolean stopping;

  private StreamConsumer(ActorContext<Command> context, PipelineBuilder<?> pipeline, Consumer<Throwable> onFatal) {
    super(context);
    this.pipeline = pipeline;
    this.onFatal = onFatal;
    StreamMdc.info(context.getLog(), pipeline.stream(), "stream '{}': consumer starting on {}", pipeline.stream(), context.getSystem().address());
    NodeStreams.get(context.getSystem()).consumerChanged(pipeline.stream());
    PipelineControl started;
    try {
      started = pipeline.run(context.getSystem());
    } catch (TidemarkException refused) {
      started = null;
      context.getSelf().tell(new Finished(refused));
    }
    this.control = started;
    if (control != null) context.pipeToSelf(control.completion(), (Done done, Throwable error) -> new Finished(error));
  }

  @Override
  public Receive<Command> createReceive() {
    return newReceiveBuilder()
        .onMessage(Stop.class, stop -> onStop())
        .onMessage(Finished.class, this::onFinished)
        .build();
  }

  /**
   * Stopped for good: reported (also to the cluster-wide status), idle, and kept alive so that
   * nothing starts it again; a stop message ends it.
   */
  private Behavior<Command> stoppedForGood(Throwable why) {
    NodeStreams.get(getContext().getSystem()).stoppedForGood(pipeline.stream(), Errors.summary(why));
    return Behaviors.receive(Command.class)
        .onMessage(Stop.class, stop -> Behaviors.stopped())
        .onMessage(Finished.class, finished -> Behaviors.same())
        .onSignal(PostStop.class, stopped -> {
          NodeStreams.get(getContext().getSystem()).consumerChanged(pipeline.stream());
          return Behaviors.same();
        })
        .build();
  }

  private Behavior<Command> onStop() {
    if (control == null) return Behaviors.stopped();
    if (!stopping) {
      stopping = true;
      StreamMdc.info(getContext().getLog(), pipeline.stream(), "stream '{}': stopping; draining in-flight events and saving the safe token", pipeline.stream());
      control.drainAndStop();
    }
    return this;
  }

  private Behavior<Command> onFinished(Finished finished) {
    Throwable error = finished.error == null ? null : unwrap(finished.error);
    if (stopping || error == null) {
      if (error != null) StreamMdc.warn(getContext().getLog(), pipeline.stream(), "stream '{}': stopped with {}", pipeline.stream(), Errors.summary(error));
      return Behaviors.stopped();
    }
    if (error instanceof FencedException) {
      // Another consumer holds the stream now (this node was cut off, or is being replaced).
      StreamMdc.warn(getContext().getLog(), pipeline.stream(), "stream '{}': fenced: {}; this consumer stops", pipeline.stream(), error.getMessage());
      return stoppedForGood(error);
    }
    if (error instanceof TidemarkException) {
      StreamMdc.error(getContext().getLog(), pipeline.stream(), "stream '{}': stopped for good: {}", pipeline.stream(), error.getMessage());
      onFatal.accept(error);
      return stoppedForGood(error);
    }
    StreamMdc.warn(getContext().getLog(), pipeline.stream(), "stream '{}': failed ({}); restarting from the checkpoint with backoff", pipeline.stream(), Errors.summary(error));
    throw new StreamFailedException(pipeline.stream(), error);
  }

  private static Throwable unwrap(Throwable error) {
    return Errors.unwrap(error);
  }
}
