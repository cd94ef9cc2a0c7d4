package io.tidemark.service;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.FlowWithContext;
import io.tidemark.pipeline.EventContext;
import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;
import org.bson.BsonString;

/** A test stage: the full document's {@code name} in upper case (a user's stage, loaded by class name). */
public final class UpperCaseStage implements StreamStage {
  @Override
  public FlowWithContext<ChangeEnvelope, EventContext, ChangeEnvelope, EventContext, NotUsed> flow(String stream, ActorSystem<?> system) {
    return FlowWithContext.<ChangeEnvelope, EventContext>create().map(UpperCaseStage::upper);
  }

  private static ChangeEnvelope upper(ChangeEnvelope event) {
    if (event.fullDocument() == null || !(event.fullDocument().get("name") instanceof String name)) return event;
    BsonDocument document = event.eventDocument();
    document.getDocument("fullDocument").put("name", new BsonString(name.toUpperCase(java.util.Locale.ROOT)));
    return ChangeEnvelope.fromEventDocument(event.seqNr(), document);
  }
}
