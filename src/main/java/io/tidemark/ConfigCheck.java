package io.tidemark;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import java.time.Duration;
import java.util.Comparator;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Reads Tidemark settings so that a wrong or missing key fails at start-up with a message that
 * names the key and the expected form, and an unknown key under {@code tidemark} (a typo) is
 * refused instead of silently falling back to a default.
 */
public final class ConfigCheck {
  private ConfigCheck() {}

  private static final Set<Object> CHECKED = java.util.Collections.newSetFromMap(new java.util.WeakHashMap<>());

  /** Validates an actor system's configuration once (the first pipeline it runs does it). */
  public static void validatedOnce(akka.actor.typed.ActorSystem<?> system) {
    synchronized (CHECKED) {
      if (CHECKED.contains(system)) return;
    }
    validated(system.settings().config());
    synchronized (CHECKED) {
      CHECKED.add(system);
    }
  }

  /**
   * Rejects keys under {@code tidemark} that the libraries' {@code reference.conf} does not define.
   * The keys known are read from the reference files themselves, not from {@code defaultReference()},
   * which already holds the system properties: a {@code -Dtidemark.pipeline.windw-size} typo is refused too.
   */
  public static Config validated(Config config) {
    Config reference = ConfigFactory.parseResourcesAnySyntax(ConfigCheck.class.getClassLoader(), "reference");
    Set<String> known =
        reference.getConfig("tidemark").entrySet().stream()
            .map(Map.Entry::getKey)
            .collect(Collectors.toCollection(TreeSet::new));
    if (config.hasPath("tidemark")) {
      for (Map.Entry<String, ConfigValue> entry : config.getConfig("tidemark").entrySet()) {
        if (entry.getKey().startsWith("streams.")) continue; // the service's streams: StreamDefinition checks them
        if (!known.contains(entry.getKey())) {
          String key = "tidemark." + entry.getKey();
          throw new TidemarkException(
              "unknown config key " + key + " (" + entry.getValue().origin().description() + ")"
                  + suggestion(entry.getKey(), known));
        }
      }
    }
    return config;
  }

  private static String suggestion(String key, Set<String> known) {
    return known.stream()
        .min(Comparator.comparingInt(candidate -> distance(key, candidate)))
        .filter(best -> distance(key, best) <= Math.max(2, key.length() / 4))
        .map(best -> "; did you mean tidemark." + best + "?")
        .orElse("; see reference.conf for the keys Tidemark reads");
  }

  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) previous[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }

  public static int positiveInt(Config config, String path) {
    int value = read(config, path, "a positive integer", () -> config.getInt(path));
    if (value <= 0) throw invalid(config, path, "a positive integer", String.valueOf(value));
    return value;
  }

  public static int nonNegativeInt(Config config, String path) {
    int value = read(config, path, "an integer >= 0", () -> config.getInt(path));
    if (value < 0) throw invalid(config, path, "an integer >= 0", String.valueOf(value));
    return value;
  }

  public static long positiveLong(Config config, String path) {
    long value = read(config, path, "a positive integer", () -> config.getLong(path));
    if (value <= 0) throw invalid(config, path, "a positive integer", String.valueOf(value));
    return value;
  }

  public static long nonNegativeLong(Config config, String path) {
    long value = read(config, path, "an integer >= 0", () -> config.getLong(path));
    if (value < 0) throw invalid(config, path, "an integer >= 0", String.valueOf(value));
    return value;
  }

  public static double fraction(Config config, String path) {
    double value = read(config, path, "a number between 0 and 1", () -> config.getDouble(path));
    if (value < 0 || value > 1) {
      throw invalid(config, path, "a number between 0 and 1", String.valueOf(value));
    }
    return value;
  }

  public static Duration positiveDuration(Config config, String path) {
    Duration value =
        read(config, path, "a positive duration such as 500ms or 10s", () -> config.getDuration(path));
    if (value.isZero() || value.isNegative()) {
      throw invalid(config, path, "a positive duration such as 500ms or 10s", value.toString());
    }
    return value;
  }

  public static Duration nonNegativeDuration(Config config, String path) {
    Duration value =
        read(config, path, "a duration such as 0s, 500ms or 24h", () -> config.getDuration(path));
    if (value.isNegative()) throw invalid(config, path, "a duration such as 0s, 500ms or 24h", value.toString());
    return value;
  }

  public static boolean flag(Config config, String path) {
    return read(config, path, "on or off", () -> config.getBoolean(path));
  }

  public static String nonEmptyString(Config config, String path) {
    String value = read(config, path, "a non-empty string", () -> config.getString(path));
    if (value.isBlank()) throw invalid(config, path, "a non-empty string", "\"\"");
    return value;
  }

  /**
   * One of an enum's constants, spelled in config in lower case with dashes ({@code dead-letter} for
   * {@code DEAD_LETTER}); {@code expected} lists the spellings for the error.
   */
  public static <E extends Enum<E>> E oneOf(Config config, String path, Class<E> type, String expected) {
    String value = nonEmptyString(config, path);
    try {
      return Enum.valueOf(type, value.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_'));
    } catch (IllegalArgumentException e) {
      throw invalid(config, path, expected, "\"" + value + "\"");
    }
  }

  private interface Reader<T> {
    T read();
  }

  private static <T> T read(Config config, String path, String expected, Reader<T> reader) {
    try {
      return reader.read();
    } catch (ConfigException.Missing e) {
      throw new TidemarkException("missing config key " + path + ": expected " + expected);
    } catch (ConfigException e) {
      String actual = config.hasPathOrNull(path) ? render(config, path) : "?";
      throw invalid(config, path, expected, actual);
    }
  }

  private static String render(Config config, String path) {
    return config.getIsNull(path) ? "null" : config.getValue(path).render();
  }

  private static TidemarkException invalid(Config config, String path, String expected, String actual) {
    String origin =
        config.hasPath(path) ? " (" + config.getValue(path).origin().description() + ")" : "";
    return new TidemarkException(
        "invalid config key " + path + " = " + actual + origin + ": expected " + expected);
  }
}
