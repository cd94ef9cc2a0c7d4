package io.tidemark.cli;

import com.mongodb.MongoNamespace;
import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.typesafe.config.Config;
import io.tidemark.TidemarkException;
import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceStreams;
import io.tidemark.service.StreamDefinition;
import io.tidemark.source.IncrementalSnapshotSettings;
import io.tidemark.source.SignalCollection;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import org.bson.BsonDocument;
import org.bson.Document;
import org.bson.json.JsonParseException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(
    name = "snapshot",
    header = "Incremental snapshots of a running stream.",
    description = {"Ask a configured stream to copy a collection again while it keeps streaming, and pause, resume or stop",
        "that request (see docs/snapshot.md)."},
    mixinStandardHelpOptions = true,
    subcommands = {SnapshotCommand.Request.class, SnapshotCommand.Pause.class, SnapshotCommand.Resume.class, SnapshotCommand.Stop.class})
final class SnapshotCommand implements Callable<Integer> {
  @Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getOut());
    return Main.USAGE;
  }

  @Command(
      name = "request",
      header = "Request an incremental snapshot of a configured stream.",
      description = {
        "Insert a request into the signal collection (tidemark.pipeline.incremental-snapshot.signal-collection):",
        "the node running STREAM copies the collection (or the documents FILTER matches) in chunks while the",
        "stream goes on, with no key going back in time. Prints the request's id; its progress is in the",
        "request's document, in `tidemark status` and in the tidemark_incremental_snapshot_* metrics."
      },
      mixinStandardHelpOptions = true)
  static final class Request implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STREAM", description = "The stream's name in tidemark.streams.")
    String stream;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The HOCON file declaring tidemark.streams.")
    Path config;

    @Option(names = "--collection", paramLabel = "NS", description = "The collection to copy, <database>.<collection> (default: the stream's collection).")
    String collection;

    @Option(names = "--filter", paramLabel = "JSON", description = "Copy only the documents this query matches (Extended JSON, such as {\"status\": \"open\"}).")
    String filter;

    @Override
    public Integer call() {
      BsonDocument query = filter(filter);
      Configured configured = Configured.load(config, stream);
      StreamDefinition definition = configured.definition;
      MongoNamespace namespace = namespace(definition);
      MongoNamespace signals = configured.signals;
      PrintWriter out = spec.commandLine().getOut();
      try (MongoClient client = MongoClients.create(configured.uri)) {
        Document request = SignalCollection.request(stream, namespace, query);
        client.getDatabase(signals.getDatabaseName()).getCollection(signals.getCollectionName()).insertOne(request);
        out.println("requested incremental snapshot " + request.getObjectId("_id").toHexString() + " of " + namespace.getFullName()
            + (query.isEmpty() ? "" : " where " + query.toJson()) + " for stream '" + stream + "' (in " + signals.getFullName() + ")");
      }
      return 0;
    }

    private MongoNamespace namespace(StreamDefinition definition) {
      String ns = collection;
      if (ns == null) {
        if (definition.collection() == null) {
          throw new TidemarkException("stream '" + stream + "' watches " + definition.target() + ": give --collection <database>.<collection>");
        }
        return new MongoNamespace(definition.database(), definition.collection());
      }
      int dot = ns.indexOf('.');
      if (dot <= 0 || dot == ns.length() - 1) throw new TidemarkException("invalid --collection " + ns + ": expected <database>.<collection>");
      if (!definition.includes(ns) || definition.database() != null && !definition.database().equals(ns.substring(0, dot))
          || definition.collection() != null && !ns.equals(definition.database() + "." + definition.collection())) {
        throw new TidemarkException("stream '" + stream + "' does not watch " + ns + " (it watches " + definition.target() + ")");
      }
      return new MongoNamespace(ns);
    }
  }

  /** The stream's definition, the signal collection and the MongoDB URI of a config file; refused clearly when one is missing. */
  private record Configured(StreamDefinition definition, MongoNamespace signals, String uri) {
    static Configured load(Path config, String stream) {
      CliLogging.quiet();
      Config loaded = ServiceConfig.load(config, Map.of());
      ServiceStreams.Checked checked = ServiceStreams.check(loaded, SnapshotCommand.class.getClassLoader());
      StreamDefinition definition = checked.definitions().stream().filter(d -> d.name().equals(stream)).findFirst()
          .orElseThrow(() -> new TidemarkException("no stream '" + stream + "' in " + config + ": expected one of " + checked.names()));
      IncrementalSnapshotSettings settings = IncrementalSnapshotSettings.create(loaded);
      if (!settings.enabled()) {
        throw new TidemarkException("tidemark.pipeline.incremental-snapshot.signal-collection is not set in " + config
            + ": expected \"<database>.<collection>\" (or a collection of the stream's database) that the streams read requests from");
      }
      return new Configured(definition, settings.namespace(definition.database()), loaded.getString("tidemark.mongodb.uri"));
    }
  }

  /**
   * Pause, resume or stop: one state change of a request document (the given one, or the stream's
   * oldest that the change applies to), made with a condition on its state, so that it is exactly
   * one transition whatever the stream is doing; the stream acts on it within its poll interval.
   */
  abstract static class Change implements Callable<Integer> {
    @Spec picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", paramLabel = "STREAM", description = "The stream's name in tidemark.streams.")
    String stream;

    @Option(names = "--config", required = true, paramLabel = "FILE", description = "The HOCON file declaring tidemark.streams.")
    Path config;

    @Option(names = "--request", paramLabel = "ID",
        description = "The request's id (as `snapshot request` printed it; default: the stream's oldest request this applies to).")
    String request;

    abstract SignalCollection.Control control();

    @Override
    public Integer call() {
      SignalCollection.Control control = control();
      org.bson.BsonValue id = request == null ? null : id(request);
      Configured configured = Configured.load(config, stream);
      PrintWriter out = spec.commandLine().getOut();
      try (MongoClient client = MongoClients.create(configured.uri)) {
        com.mongodb.client.MongoCollection<BsonDocument> signals = client.getDatabase(configured.signals.getDatabaseName())
            .getCollection(configured.signals.getCollectionName(), BsonDocument.class);
        String states = String.join(" or ", control.from);
        BsonDocument target = signals.find(control.target(stream, id)).sort(com.mongodb.client.model.Sorts.ascending("_id")).first();
        if (target == null) {
          BsonDocument named = id == null ? null : signals.find(com.mongodb.client.model.Filters.eq("_id", id)).first();
          if (named == null) {
            throw new TidemarkException(id == null
                ? "stream '" + stream + "' has no incremental snapshot request to " + control.verb() + ": none is " + states + " in "
                    + configured.signals.getFullName()
                : "no incremental snapshot request " + request + " in " + configured.signals.getFullName());
          }
          throw new TidemarkException("incremental snapshot request " + request + " is " + named.get("state", new org.bson.BsonString("?"))
              .asString().getValue() + (named.isString("stream") && !stream.equals(named.getString("stream").getValue())
                  ? " and belongs to stream '" + named.getString("stream").getValue() + "'" : "")
              + ": only a request of stream '" + stream + "' that is " + states + " can be " + control.past);
        }
        boolean started = target.containsKey("startedAt") || target.containsKey("after");
        org.bson.BsonValue targetId = target.get("_id");
        com.mongodb.client.result.UpdateResult result =
            signals.updateOne(control.target(stream, targetId), control.update(started, "tidemark snapshot " + control.verb()));
        String shown = targetId.isObjectId() ? targetId.asObjectId().getValue().toHexString() : targetId.toString();
        if (result.getModifiedCount() == 0) {
          throw new TidemarkException("incremental snapshot request " + shown + " changed meanwhile: it is no longer " + states + "; nothing done");
        }
        out.println(control.past + " incremental snapshot " + shown + " of " + target.getString("collection", new org.bson.BsonString("?")).getValue()
            + " for stream '" + stream + "' (in " + configured.signals.getFullName() + "); the stream acts on it within its poll interval");
      }
      return 0;
    }

    private static org.bson.BsonValue id(String text) {
      if (org.bson.types.ObjectId.isValid(text)) return new org.bson.BsonObjectId(new org.bson.types.ObjectId(text));
      throw new TidemarkException("invalid --request " + text + ": expected a request's id, 24 hexadecimal digits (as `snapshot request` printed it)");
    }
  }

  @Command(
      name = "pause",
      header = "Pause an incremental snapshot request: the stream opens no chunk of it until it is resumed.",
      description = {
        "Set the request's state to paused: the stream keeps streaming, finishes the chunk it has open, and reads",
        "no more of the collection; the request keeps its progress and its place (later requests wait)."
      },
      mixinStandardHelpOptions = true)
  static final class Pause extends Change {
    @Override
    SignalCollection.Control control() {
      return SignalCollection.Control.PAUSE;
    }
  }

  @Command(
      name = "resume",
      header = "Resume a paused incremental snapshot request from its saved progress.",
      description = {"Set a paused request's state back to running (pending, if it had not started): the stream goes on after its last chunk done."},
      mixinStandardHelpOptions = true)
  static final class Resume extends Change {
    @Override
    SignalCollection.Control control() {
      return SignalCollection.Control.RESUME;
    }
  }

  @Command(
      name = "stop",
      header = "Stop an incremental snapshot request: it copies no more, and the stream takes the next one.",
      description = {
        "Set the request's state to stopped, with a note: the stream keeps streaming, drops the chunk it has read and",
        "not handed on, and takes the next request; what was copied stays copied (`copied`, `chunks` say how far it got)."
      },
      mixinStandardHelpOptions = true)
  static final class Stop extends Change {
    @Override
    SignalCollection.Control control() {
      return SignalCollection.Control.STOP;
    }
  }

  /** The request's filter: a JSON object, or none. */
  static BsonDocument filter(String json) {
    if (json == null || json.isBlank()) return new BsonDocument();
    try {
      return BsonDocument.parse(json);
    } catch (JsonParseException | org.bson.BsonInvalidOperationException e) {
      throw new TidemarkException("invalid --filter " + json + ": expected a JSON object (a query, such as {\"status\": \"open\"}): " + e.getMessage());
    }
  }
}
