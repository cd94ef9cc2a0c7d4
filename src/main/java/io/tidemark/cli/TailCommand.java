package io.tidemark.cli;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValueFactory;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.pipeline.PipelineControl;
import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceStreams;
import io.tidemark.service.StreamDefinition;
import io.tidemark.sink.EventFormat;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Callable;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(
    name = "tail",
    header = "Print a configured stream's events as JSON lines.",
    description = {
      "Print a configured stream's events as JSON lines on the standard output, from now or from a",
      "given position, with the stream's source settings and format (its sink is not used). Touches",
      "no checkpoint: the stream's own position stays where it is. Ctrl-C stops it."
    },
    mixinStandardHelpOptions = true)
final class TailCommand implements Callable<Integer> {
  @Parameters(index = "0", paramLabel = "STREAM", description = "The stream's name in tidemark.streams.")
  String stream;

  @Option(names = "--config", required = true, paramLabel = "FILE", description = "The HOCON file declaring tidemark.streams.")
  Path config;

  @Option(names = "--from-time", paramLabel = "SECONDS", description = "Start at this cluster time (seconds since the epoch) instead of now.")
  Long fromTime;

  @Option(names = "--after", paramLabel = "TOKEN", description = "Start after this resume token (JSON, such as {\"_data\": \"82...\"}) instead of now.")
  String after;

  @Option(names = "--format", paramLabel = "FORMAT", description = "relaxed-json, canonical-json, document or debezium (default: the stream's).")
  String format;

  @Option(names = "--limit", paramLabel = "N", description = "Stop after N events (default: run until stopped).")
  Long limit;

  @Override
  public Integer call() throws Exception {
    if (fromTime != null && after != null) throw new TidemarkException("give --from-time or --after, not both");
    if (limit != null && limit < 1) throw new TidemarkException("invalid --limit " + limit + ": expected a positive number of events");
    BsonDocument token = after == null ? null : token(after);
    CliLogging.quiet();
    Config loaded = ServiceConfig.load(config, Map.of());
    ServiceStreams.Checked checked = ServiceStreams.check(loaded, TailCommand.class.getClassLoader());
    StreamDefinition definition = checked.definitions().stream().filter(d -> d.name().equals(stream)).findFirst()
        .orElseThrow(() -> new TidemarkException("no stream '" + stream + "' in " + config + ": expected one of " + checked.names()));
    EventFormat chosen = format == null ? definition.format() : EventFormat.ofLabel(format);
    if (chosen == null) throw new TidemarkException("invalid --format " + format + ": expected " + EventFormat.EXPECTED);
    Config stdout = ConfigFactory.parseMap(Map.of("type", "stdout", "format", chosen.label())).withFallback(loaded.getConfig("tidemark.sink.stdout"));
    // The stream's events, printed: never a snapshot (a tail looks at changes from a position).
    StreamDefinition tail = definition.withSink(chosen, "stdout", stdout).withStartup(io.tidemark.source.StartupMode.STREAM_ONLY);

    String uri = loaded.getString("tidemark.mongodb.uri");
    Config local = loaded.withValue("akka.actor.provider", ConfigValueFactory.fromAnyRef("local"));
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark-tail", local);
    try (ServiceStreams streams = ServiceStreams.create(system,
        new ServiceStreams.Checked(List.of(tail), Map.of(stream, checked.stages().get(stream)), checked.sinks()))) {
      PipelineBuilder<?> pipeline = streams.pipeline(stream, uri, InMemoryCheckpointStore.create(), null);
      if (fromTime != null) pipeline = pipeline.startAtOperationTime(new BsonTimestamp((int) (long) fromTime, 0));
      if (token != null) pipeline = pipeline.startAfter(token);
      PipelineControl control = pipeline.run(system);
      CompletableFuture<Void> done = control.completion().toCompletableFuture().thenApply(d -> null);
      if (limit != null) {
        system.scheduler().scheduleAtFixedRate(Duration.ofMillis(100), Duration.ofMillis(100), () -> {
          if (control.stats().window().completed() >= limit) control.drainAndStop();
        }, system.executionContext());
      }
      try {
        done.join();
      } catch (RuntimeException e) {
        throw new TidemarkException("stream '" + stream + "' stopped: " + Errors.summary(Errors.unwrap(e)), e);
      }
      return 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }

  private static BsonDocument token(String json) {
    try {
      BsonDocument token = BsonDocument.parse(json);
      if (!token.containsKey("_data")) throw new IllegalArgumentException("no _data");
      return token;
    } catch (RuntimeException e) {
      throw new TidemarkException("invalid --after " + json + ": expected a resume token such as {\"_data\": \"8265...\"}");
    }
  }
}
