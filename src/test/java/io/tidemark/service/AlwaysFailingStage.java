package io.tidemark.service;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.FlowWithContext;
import io.tidemark.pipeline.EventContext;
import io.tidemark.source.ChangeEnvelope;

/** A test stage that fails on every event: with a bounded number of restarts, its stream stops for good. */
public final class AlwaysFailingStage implements StreamStage {
  @Override
  public FlowWithContext<ChangeEnvelope, EventContext, ChangeEnvelope, EventContext, NotUsed> flow(String stream, ActorSystem<?> system) {
    return FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> {
      throw new IllegalStateException("AlwaysFailingStage refuses event " + event.seqNr());
    });
  }
}
