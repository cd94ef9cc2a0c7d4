package io.tidemark.source;

import akka.NotUsed;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.changestream.ChangeStreamDocument;
import com.typesafe.config.ConfigFactory;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.bson.Document;
import org.bson.conversions.Bson;

/** Opens the change-stream source to tests of other packages, over a made-up stream. */
public final class ChangeStreamSources {
  private ChangeStreamSources() {}

  /** Opens a made-up stream at a position. */
  public interface Opener {
    Source<ChangeStreamDocument<Document>, NotUsed> open(ResumePosition position, List<Bson> pipeline);
  }

  public static ChangeStreamSource.Definition definition(
      String stream, SourceSettings settings, FaultSettings faults, ResumePosition start, PositionProbe probe) {
    var config = ConfigFactory.load();
    return new ChangeStreamSource.Definition(
        stream, null, ChangeStreamTarget.collection("test", "c"), List.of(), null, settings, faults,
        () -> CompletableFuture.completedFuture(start), ResumableErrors::isResumable, null, probe,
        SnapshotSettings.create(config), new SnapshotProgress());
  }

  public static Source<StreamElement, NotUsed> create(ChangeStreamSource.Definition definition, Opener opener) {
    return ChangeStreamSource.create(definition, opener::open);
  }
}
