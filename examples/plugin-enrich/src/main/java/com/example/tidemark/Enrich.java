package com.example.tidemark;

import akka.NotUsed;
import akka.actor.typed.ActorSystem;
import akka.stream.javadsl.FlowWithContext;
import com.typesafe.config.Config;
import io.tidemark.pipeline.EventContext;
import io.tidemark.service.StreamStage;
import io.tidemark.source.ChangeEnvelope;
import org.bson.BsonDocument;
import org.bson.BsonNumber;
import org.bson.BsonString;

/**
 * A stage ({@code stages = ["com.example.tidemark.Enrich"]}): adds {@code tier} to each event's full
 * document from its {@code total}: {@code "gold"} from {@code example.enrich.gold-from} (in the
 * node's configuration; 100 when absent), {@code "standard"} below. Events without a full document
 * with a numeric total go on unchanged: a stage emits one event for each event, in order.
 */
public final class Enrich implements StreamStage {
  @Override
  public FlowWithContext<ChangeEnvelope, EventContext, ChangeEnvelope, EventContext, NotUsed> flow(String stream, ActorSystem<?> system) {
    Config config = system.settings().config();
    double goldFrom = config.hasPath("example.enrich.gold-from") ? config.getDouble("example.enrich.gold-from") : 100;
    return FlowWithContext.<ChangeEnvelope, EventContext>create().map(event -> enrich(event, goldFrom));
  }

  static ChangeEnvelope enrich(ChangeEnvelope event, double goldFrom) {
    if (event.fullDocument() == null || !(event.fullDocument().get("total") instanceof Number)) return event;
    BsonDocument document = event.eventDocument();
    BsonDocument full = document.getDocument("fullDocument");
    double total = ((BsonNumber) full.get("total")).doubleValue();
    full.put("tier", new BsonString(total >= goldFrom ? "gold" : "standard"));
    return ChangeEnvelope.fromEventDocument(event.seqNr(), document);
  }
}
