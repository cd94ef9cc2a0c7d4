package io.tidemark.service;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.FlowWithContext;
import io.tidemark.pipeline.EventContext;
import io.tidemark.source.ChangeEnvelope;

/**
 * A user stage the service loads by class name ({@code tidemark.streams.<name>.stages = ["com.acme.Enrich"]}),
 * from the jars in {@code --plugins DIR}: a public class with a public no-argument constructor.
 * Its flow runs between the source and the sink, one event in, one event out, in order (the
 * pipeline's {@code via} rule: dropping, repeating or reordering events stops the stream with a
 * {@code StageContractException}); to drop an event, return it unchanged and filter with the
 * stream's {@code source} settings or a {@code filter} transform instead.
 *
 * <p>A stage class may instead implement the per-event {@link io.tidemark.pipeline.EventHandler}
 * (work done for each event, such as a call to another service): the event goes on unchanged once
 * the handler's future completes, and a failed one follows the stream's failing-stage policy.
 * {@code examples/plugin-enrich} is a project with one of each, and a sink type.
 */
public interface StreamStage {
  /** The stage's flow for one stream; called each time the stream's consumer starts. */
  FlowWithContext<ChangeEnvelope, EventContext, ChangeEnvelope, EventContext, NotUsed> flow(String stream, ActorSystem<?> system);
}
