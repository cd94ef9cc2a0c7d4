package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.h2.tools.Server;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "mongo",
    header = "Run the embedded MongoDB and the H2 checkpoint server, for nodes.",
    description = {
      "Run the embedded MongoDB on its own, so that it outlives the nodes; and, beside it, an H2",
      "server for the checkpoint database the nodes share. Both keep their data in --data.",
      "Runs until Ctrl-C."
    },
    mixinStandardHelpOptions = true)
final class MongoCommand implements Callable<Integer> {

  @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data).")
  Path data;

  @Option(names = "--port", paramLabel = "P", description = "MongoDB port (default: 27017).")
  int port = 27017;

  @Option(names = "--host", paramLabel = "HOST", description = "Address to listen on (default: 127.0.0.1).")
  String host = "127.0.0.1";

  @Option(names = "--h2-port", paramLabel = "P", description = "Port of the H2 checkpoint server (default: 9092; 0: none).")
  int h2Port = 9092;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  @Override
  public Integer call() throws Exception {
    Map<String, Object> options = data == null ? Map.of() : Map.of("tidemark.demo.data-dir", data.toAbsolutePath().normalize().toString());
    var loaded = ServiceConfig.load(config, options);
    Path dir = Path.of(loaded.getString("tidemark.demo.data-dir")).toAbsolutePath().normalize();
    Files.createDirectories(dir);
    EmbeddedMongo mongo = EmbeddedMongo.start(dir, host, port, EmbeddedSettings.create(loaded));
    Server h2 = null;
    if (h2Port > 0) {
      try {
        h2 = Server.createTcpServer("-tcpPort", String.valueOf(h2Port), "-baseDir", dir.toString(), "-ifNotExists").start();
      } catch (SQLException e) {
        mongo.close();
        throw new TidemarkException("the H2 checkpoint server could not listen on port " + h2Port + ": " + Errors.oneLine(e.getMessage()), e);
      }
    }
    System.out.println("MongoDB:     " + mongo.connectionString());
    if (h2 != null) System.out.println("checkpoints: jdbc:h2:tcp://127.0.0.1:" + h2Port + "/checkpoints");
    CountDownLatch stopped = new CountDownLatch(1);
    Server h2Server = h2;
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      if (h2Server != null) h2Server.stop();
      mongo.close();
      stopped.countDown();
    }, "tidemark-mongo-stop"));
    stopped.await();
    return 0;
  }
}
