package io.tidemark.service;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import java.util.List;
import java.util.Map;

/**
 * The demo's stream as a stream configuration: {@code conf/demo.conf} (packaged as {@value #RESOURCE})
 * declares {@code tidemark.streams.orders-view}, the watched orders into the {@code demo-view} sink
 * ({@link DemoViewSinkFactory}). {@code demo} and {@code node} load it beneath {@code --config FILE}
 * ({@link ServiceConfig#load(java.nio.file.Path, Map, Map, Config)}), then {@link #configure} it, and
 * run it on a {@link ServiceNode}.
 */
public final class DemoStream {
  private DemoStream() {}

  public static final String RESOURCE = "tidemark/conf/demo.conf";
  /** The name conf/demo.conf gives the stream; {@code tidemark.demo.stream} renames it. */
  static final String DECLARED = "orders-view";

  /** conf/demo.conf, unresolved: its substitutions read {@code tidemark.demo.*} of the whole configuration. */
  public static Config resource() {
    return ConfigFactory.parseResources(RESOURCE, ConfigParseOptions.defaults().setAllowMissing(false));
  }

  /**
   * {@code loaded} with the demo's stream as its only stream, named {@code tidemark.demo.stream}, and
   * the service keys that {@code tidemark.demo.*} sets ({@link DemoSettings#serviceKeys()}).
   */
  public static Config configure(Config loaded) {
    DemoSettings settings = DemoSettings.create(loaded);
    Config configured = loaded.withoutPath("tidemark.streams")
        .withValue(ConfigUtil.joinPath(List.of("tidemark", "streams", settings.stream)), loaded.getValue("tidemark.streams." + DECLARED));
    for (Map.Entry<String, Object> key : settings.serviceKeys().entrySet()) {
      configured = configured.withValue(key.getKey(), ConfigValueFactory.fromAnyRef(key.getValue(), "tidemark.demo"));
    }
    return configured;
  }
}
