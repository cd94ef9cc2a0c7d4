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
 * stream's {@code source} settings instead.
 */
public interface StreamStage {
  /** The stage's flow for one stream; called each time the stream's consumer starts. */
  FlowWithContext<ChangeEnvelope, EventContext, ChangeEnvelope, EventContext, NotUsed> flow(String stream, ActorSystem<?> system);
}
