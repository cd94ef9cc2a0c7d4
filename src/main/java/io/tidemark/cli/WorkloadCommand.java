package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.service.DemoSettings;
import io.tidemark.service.OrdersWorkload;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "workload",
    header = "Write the demo's orders into a MongoDB at a steady rate.",
    description = {
      "Write the demo's orders (inserts, updates, deletes) into a MongoDB at a steady rate, as `demo`",
      "does, for a cluster of `node`s to process. Runs until --events writes are done or Ctrl-C."
    },
    mixinStandardHelpOptions = true)
final class WorkloadCommand implements Callable<Integer> {

  @Option(names = "--mongodb", paramLabel = "URI", required = true, arity = "0..1", fallbackValue = DemoOptions.CONFIGURED_URI,
      description = "The MongoDB to write to; --mongodb alone: the configured tidemark.mongodb.uri (TIDEMARK_MONGODB_URI, or the"
          + " file TIDEMARK_MONGODB_URI_FILE names).")
  String mongodb;

  @Option(names = "--rate", paramLabel = "N", description = "Writes per second (default: 100).")
  Integer rate;

  @Option(names = "--events", paramLabel = "N", description = "Stop after N writes (default: run until stopped).")
  Long events;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    Flags.positiveEvents(spec.commandLine(), events);
    Flags.positiveRate(spec.commandLine(), rate);
    Map<String, Object> options = new HashMap<>();
    if (!DemoOptions.CONFIGURED_URI.equals(mongodb)) options.put("tidemark.mongodb.uri", mongodb);
    if (rate != null) options.put("tidemark.demo.rate", rate);
    if (events != null) options.put("tidemark.demo.events", events);
    Config loaded = ServiceConfig.load(config, options);
    String mongodb = DemoOptions.configured(this.mongodb, loaded);
    DemoSettings settings = DemoSettings.create(loaded);
    MongoSettings mongo = MongoSettings.create(loaded);
    MongoConnector.awaitStarted(mongodb, mongo.connectTimeout, mongo.startTimeout);
    Config local = ConfigFactory.parseString("akka.actor.provider = local").withFallback(loaded);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark-workload", local);
    try (MongoClient client = MongoConnector.connect(mongodb, mongo.connectTimeout)) {
      MongoConnector.ping(client, MongoConnector.redact(mongodb), mongo.connectTimeout).toCompletableFuture().join();
      var started = OrdersWorkload.start(system, client.getDatabase(settings.database).getCollection(settings.collection),
          settings.rate, settings.events).toCompletableFuture().join();
      Runtime.getRuntime().addShutdownHook(new Thread(() -> started.second().first().shutdown(), "tidemark-workload-stop"));
      System.out.println("workload: " + settings.rate + " writes/s to " + settings.database + "." + settings.collection
          + (settings.events > 0 ? ", " + settings.events + " writes" : " until stopped (Ctrl-C)"));
      started.second().second().toCompletableFuture().join();
      System.out.println("workload: " + started.first().writes() + " writes done");
      return 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
    }
  }
}
