package io.tidemark.service;

import akka.actor.typed.ActorSystem;
import akka.management.javadsl.AkkaManagement;
import com.typesafe.config.Config;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts health, cluster management, status and metrics on the management port, for every node
 * (demo, node, run). A node without them would run unmonitored, so a port that cannot be bound
 * fails the start with one line naming the address and the keys and options that set it.
 */
final class ManagementEndpoints {
  private ManagementEndpoints() {}

  private static final Logger log = LoggerFactory.getLogger(ManagementEndpoints.class);

  static void start(ActorSystem<?> system) {
    Config management = system.settings().config().getConfig("akka.management.http");
    String host = management.getString("bind-hostname").isEmpty() ? management.getString("hostname") : management.getString("bind-hostname");
    String port = management.getValue("port").unwrapped().toString();
    String expected = "; expected a free port in akka.management.http.port (--management-port P or --management HOST:PORT, TIDEMARK_MANAGEMENT_PORT)";
    // Tried first, so that a port in use is one line, not Akka's stack trace of the failed bind.
    try {
      new java.net.ServerSocket(Integer.parseInt(port), 1, java.net.InetAddress.getByName(host)).close();
    } catch (java.io.IOException | NumberFormatException e) {
      throw new TidemarkException("the management endpoints cannot listen on " + host + ":" + port + ": "
          + (e instanceof java.net.BindException ? "the port is in use" : Errors.summary(e)) + expected, e);
    }
    try {
      var uri = AkkaManagement.get(system.classicSystem()).start().toCompletableFuture().join();
      log.info("management endpoints at {} (/alive, /ready, /cluster/members, /tidemark/streams, /metrics)", uri);
    } catch (RuntimeException e) {
      Throwable cause = Errors.unwrap(e);
      String why = cause instanceof java.net.BindException || String.valueOf(cause.getMessage()).contains("already in use")
          ? "the port is in use" : Errors.summary(cause);
      throw new TidemarkException("the management endpoints cannot listen on " + host + ":" + port + ": " + why + expected, cause);
    }
  }
}
