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
    description = "Ask a configured stream to copy a collection again while it keeps streaming (see docs/snapshot.md).",
    mixinStandardHelpOptions = true,
    subcommands = {SnapshotCommand.Request.class})
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
      MongoNamespace namespace = namespace(definition);
      MongoNamespace signals = settings.namespace(definition.database());
      PrintWriter out = spec.commandLine().getOut();
      try (MongoClient client = MongoClients.create(loaded.getString("tidemark.mongodb.uri"))) {
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
