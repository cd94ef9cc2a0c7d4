package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.reactivestreams.client.MongoClient;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.service.DemoSettings;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.service.ViewAudit;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import java.nio.file.Files;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

@Command(
    name = "verify",
    header = "Audit the demo: every event delivered, the view equal to the source.",
    description = {
      "Audit the demo: compare the view with the source and every event of the source with what was",
      "delivered. Prints missing=<n> duplicates=<n> processed=<n>; exits 1 when anything is missing.",
      "Works on the data directory while nothing else runs, or on a running server with --mongodb:",
      "then the pipeline may still be running, and the audit takes the events up to the oplog's newest",
      "when it begins, waits up to --settle seconds for them to be delivered, and compares the view only",
      "if nothing was written since; it says on stderr what it audited."
    },
    mixinStandardHelpOptions = true)
final class VerifyCommand implements Callable<Integer> {

  @Mixin DemoOptions where;

  @picocli.CommandLine.Option(names = "--settle", paramLabel = "SECONDS",
      description = "With --mongodb: how long events up to the cut may take to be delivered (default: 30).")
  int settleSeconds = 30;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() {
    if (settleSeconds < 0) {
      throw new picocli.CommandLine.ParameterException(spec.commandLine(),
          "invalid --settle " + settleSeconds + ": expected 0 or more seconds");
    }
    CliLogging.quiet(); // stdout is the result line: scripts parse it
    Config loaded = ServiceConfig.load(where.config, where.overrides());
    String mongodb = where.mongodb(loaded);
    DemoSettings settings = DemoSettings.create(loaded);
    EmbeddedMongo mongo = null;
    if (mongodb == null) {
      if (Files.isRegularFile(settings.dataDir)) {
        throw new io.tidemark.TidemarkException("--data " + settings.dataDir + " is a file: expected the demo's data directory");
      }
      if (!Files.isRegularFile(settings.dataDir.resolve(EmbeddedMongo.STORE_FILE))) {
        throw new io.tidemark.TidemarkException(
            "no demo data in " + settings.dataDir + ": run `demo` first, or pass --data DIR or --mongodb URI");
      }
      mongo = EmbeddedMongo.start(settings.dataDir, "127.0.0.1", 0, EmbeddedSettings.create(loaded));
    }
    String uri = mongo != null ? mongo.connectionString() : mongodb;
    Config withUri = ConfigFactory.parseMap(Map.of("tidemark.mongodb.uri", uri)).withFallback(loaded);
    MongoSettings mongoSettings = MongoSettings.create(withUri);
    if (mongo != null) {
      try {
        mongo.awaitAnswering(mongoSettings.startWait());
      } catch (RuntimeException e) {
        mongo.close();
        throw e;
      }
    }
    Config quiet = ConfigFactory.parseString("akka.actor.provider = local\nakka.loglevel = WARNING").withFallback(withUri);
    ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark-verify", quiet);
    try (MongoClient client = MongoConnector.connect(uri, mongoSettings.connectTimeout)) {
      MongoConnector.ping(client, MongoConnector.redact(uri), mongoSettings.connectTimeout).toCompletableFuture().join();
      // On the data directory nothing else runs: every event is audited. On a server, a pipeline may be running.
      ViewAudit.Result result = mongo != null
          ? ViewAudit.run(system, client, settings).toCompletableFuture().join()
          : ViewAudit.settled(system, client, settings, java.time.Duration.ofSeconds(settleSeconds));
      System.out.println(result.line());
      System.err.println("note: " + result.scope());
      if (!result.oplogChecked()) {
        System.err.println("note: the oplog was not readable, so only the view was compared with the source");
      }
      return result.missing() > 0 ? 1 : 0;
    } finally {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
      if (mongo != null) mongo.close();
    }
  }
}
