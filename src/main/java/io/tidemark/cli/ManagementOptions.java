package io.tidemark.cli;

import io.tidemark.TidemarkException;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * {@code --management HOST:PORT} and {@code --management-port P}, taken alike by every command that
 * serves the management endpoints ({@link Serve}: demo, node, run) or asks a node for them
 * ({@link Ask}: status, report). One of the two, or neither.
 */
final class ManagementOptions {
  private ManagementOptions() {}

  static final String DEFAULT_HOST = "127.0.0.1";
  private static final Pattern HOST_PORT = Pattern.compile("([^:\\s/]+):(\\d{1,5})");

  /** Where this node serves its management endpoints. */
  static final class Serve {
    @Option(names = "--management", paramLabel = "HOST:PORT",
        description = "Address of the management endpoints: akka.management.http.hostname and port (default: 127.0.0.1:8558).")
    String address;

    @Option(names = "--management-port", paramLabel = "P",
        description = "Port of the management endpoints, on the configured host (default: 8558; 0: any free one).")
    Integer port;

    /** The options as config keys. */
    Map<String, Object> overrides(CommandLine command) {
      Map<String, Object> overrides = new HashMap<>();
      if (address != null && port != null) throw both(command);
      if (address != null) {
        Matcher parsed = parse(address);
        overrides.put("akka.management.http.hostname", parsed.group(1));
        overrides.put("akka.management.http.port", Integer.parseInt(parsed.group(2)));
      }
      if (port != null) overrides.put("akka.management.http.port", checkedPort(command, port));
      return overrides;
    }
  }

  /** Where to ask a node. */
  static final class Ask {
    @Option(names = "--management", paramLabel = "HOST:PORT", description = "The node's management endpoints (default: 127.0.0.1:8558).")
    String address;

    @Option(names = "--management-port", paramLabel = "P", description = "The same on 127.0.0.1: --management 127.0.0.1:P.")
    Integer port;

    /** HOST:PORT to ask. */
    String hostPort(CommandLine command) {
      if (address != null && port != null) throw both(command);
      if (port != null) return DEFAULT_HOST + ":" + checkedPort(command, port);
      if (address != null) parse(address);
      return address != null ? address : DEFAULT_HOST + ":8558";
    }
  }

  private static Matcher parse(String address) {
    Matcher matcher = HOST_PORT.matcher(address);
    if (!matcher.matches() || Integer.parseInt(matcher.group(2)) > 65535) {
      throw new TidemarkException("invalid --management '" + address + "': expected HOST:PORT, such as 127.0.0.1:8558");
    }
    return matcher;
  }

  private static int checkedPort(CommandLine command, int port) {
    Flags.port(command, "--management-port", port);
    return port;
  }

  private static CommandLine.ParameterException both(CommandLine command) {
    return new CommandLine.ParameterException(command,
        "--management HOST:PORT and --management-port P both name the management endpoints: give one");
  }
}
