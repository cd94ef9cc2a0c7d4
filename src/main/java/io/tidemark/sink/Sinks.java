package io.tidemark.sink;

import io.tidemark.TidemarkException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeMap;

/**
 * The sink types a stream can name in {@code sink.type}: the built-in ones ({@code stdout},
 * {@code file}, {@code jdbc}, {@code kafka}, {@code mongodb}, {@code http}) and those of plugins, {@link SinkFactory}
 * implementations listed in a jar's {@code META-INF/services/io.tidemark.sink.SinkFactory} (the
 * Tidemark jar lists its demo's, {@code demo-view}, that way). A plugin cannot replace a built-in
 * type, and two plugins cannot claim one type.
 */
public final class Sinks {
  private final Map<String, SinkFactory> factories;

  private Sinks(Map<String, SinkFactory> factories) {
    this.factories = Collections.unmodifiableMap(factories);
  }

  /** The built-in types only. */
  public static Sinks builtIn() {
    Map<String, SinkFactory> factories = new TreeMap<>();
    for (SinkFactory factory : List.of(new StdoutSinkFactory(), new FileSinkFactory(), new JdbcSinkFactory(), new KafkaSinkFactory(),
        new MongoSinkFactory(), new HttpSinkFactory())) {
      factories.put(factory.type(), factory);
    }
    return new Sinks(factories);
  }

  /** The built-in types and the plugins {@code loader} finds with {@link ServiceLoader}. */
  public static Sinks load(ClassLoader loader) {
    Map<String, SinkFactory> builtIn = builtIn().factories;
    Map<String, SinkFactory> factories = new TreeMap<>(builtIn);
    Map<String, String> pluginOf = new TreeMap<>();
    try {
      for (SinkFactory plugin : ServiceLoader.load(SinkFactory.class, loader)) {
        if (builtIn.containsKey(plugin.type())) continue; // the built-in itself, or a plugin claiming its name
        String type = plugin.type();
        if (type == null || !type.matches("[a-z][a-z0-9-]*")) {
          throw new TidemarkException("sink plugin " + plugin.getClass().getName() + " names its type '" + type
              + "': expected lower-case letters, digits and '-', such as my-sink");
        }
        String other = pluginOf.putIfAbsent(type, plugin.getClass().getName());
        if (other != null) {
          throw new TidemarkException("sink type '" + type + "' is claimed by two plugins: " + other + " and " + plugin.getClass().getName());
        }
        factories.put(type, plugin);
      }
    } catch (ServiceConfigurationError e) {
      throw new TidemarkException("a sink plugin could not be loaded: " + e.getMessage(), e);
    }
    return new Sinks(factories);
  }

  /** The factory of a type; a type nobody provides is refused, naming the types known. */
  public SinkFactory forType(String type) {
    SinkFactory factory = factories.get(type);
    if (factory == null) {
      throw new TidemarkException("unknown sink type \"" + type + "\": expected one of " + String.join(", ", types())
          + " (or a plugin's, from --plugins DIR)");
    }
    return factory;
  }

  /** The types known, sorted. */
  public List<String> types() {
    return List.copyOf(factories.keySet());
  }
}
