package io.tidemark.source;

import com.mongodb.client.model.changestream.FullDocument;
import java.util.List;
import java.util.Optional;
import org.bson.BsonDocument;
import org.bson.conversions.Bson;

/** Reads a quiet stream's position from the server: what a heartbeat checkpoint moves to. */
@akka.annotation.InternalApi
public interface PositionProbe {

  /**
   * The server's position after {@code after} when no event the stream would deliver follows it
   * (opened with the stream's own pipeline and full-document option); empty otherwise. May block.
   */
  Optional<BsonDocument> positionAfter(ResumePosition after, List<Bson> pipeline, FullDocument fullDocument);
}
