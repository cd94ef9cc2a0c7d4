package io.tidemark.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options that say where the demo's data is: shared by {@code demo} and {@code verify}. */
final class DemoOptions {

  @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data).")
  Path data;

  @Option(names = "--mongodb", paramLabel = "URI", arity = "0..1", fallbackValue = CONFIGURED_URI,
      description = "Use this MongoDB replica set instead of the embedded server on the data directory; --mongodb alone: the"
          + " configured tidemark.mongodb.uri (TIDEMARK_MONGODB_URI, or the file TIDEMARK_MONGODB_URI_FILE names).")
  String mongodb;

  /** What picocli gives a bare {@code --mongodb}: the configured URI, so that the password stays out of the command line. */
  static final String CONFIGURED_URI = "(the configured tidemark.mongodb.uri)";

  /** The MongoDB URI to use, or null for the embedded server. */
  String mongodb(com.typesafe.config.Config loaded) {
    return configured(mongodb, loaded);
  }

  /** {@code uri}, or for a bare {@code --mongodb} the configured one. */
  static String configured(String uri, com.typesafe.config.Config loaded) {
    return CONFIGURED_URI.equals(uri) ? io.tidemark.ConfigCheck.nonEmptyString(loaded, "tidemark.mongodb.uri") : uri;
  }

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  /** Config overrides from these options. */
  Map<String, Object> overrides() {
    Map<String, Object> overrides = new HashMap<>();
    if (data != null) overrides.put("tidemark.demo.data-dir", data.toAbsolutePath().normalize().toString());
    return overrides;
  }
}
