package io.tidemark.cli;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/** The options that say where the demo's data is: shared by {@code demo} and {@code verify}. */
final class DemoOptions {

  @Option(names = "--data", paramLabel = "DIR", description = "Data directory (default: ./data).")
  Path data;

  @Option(names = "--mongodb", paramLabel = "URI", description = "Use this MongoDB replica set instead of the embedded server on the data directory.")
  String mongodb;

  @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
  Path config;

  /** Config overrides from these options. */
  Map<String, Object> overrides() {
    Map<String, Object> overrides = new HashMap<>();
    if (data != null) overrides.put("tidemark.demo.data-dir", data.toAbsolutePath().normalize().toString());
    return overrides;
  }
}
