package io.tidemark.sink;

import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.Set;
import java.util.TreeSet;

/**
 * Reads a stream's {@code sink} block for a {@link SinkFactory}, so that every error names the whole
 * key ({@code tidemark.streams.<stream>.sink.<key>}), what was found and what was expected, and a
 * key the sink does not read is refused instead of ignored.
 */
public final class SinkBlock {
  private final String stream;
  private final String path;
  private final Config rooted;

  private SinkBlock(String stream, Config settings) {
    this.stream = stream;
    this.path = "tidemark.streams." + stream + ".sink"; // stream names are letters, digits, '_' and '-'

    this.rooted = settings.atPath(path);
  }

  /**
   * The block of {@code context}, refusing keys other than {@code type}, {@code format} and {@code keys}
   * (the first element of a key's path, as {@code debezium} for {@code debezium.name}).
   */
  public static SinkBlock of(SinkContext context, Set<String> keys) {
    SinkBlock block = new SinkBlock(context.stream(), context.settings());
    Set<String> known = new TreeSet<>(keys);
    known.add("type");
    known.add("format");
    for (String key : context.settings().root().keySet()) {
      if (!known.contains(key)) {
        throw new TidemarkException("unknown config key " + block.path + "." + key + ": the " + block.type() + " sink reads "
            + String.join(", ", known));
      }
    }
    return block;
  }

  /** The full name of a key of this block, for messages. */
  public String key(String key) {
    return path + "." + key;
  }

  public String stream() {
    return stream;
  }

  public boolean has(String key) {
    return rooted.hasPath(key(key));
  }

  public String type() {
    return rooted.hasPath(key("type")) ? rooted.getString(key("type")) : "?";
  }

  public String string(String key) {
    return ConfigCheck.nonEmptyString(rooted, key(key));
  }

  /** A string that may be empty. */
  public String text(String key) {
    return has(key) ? rooted.getValue(key(key)).unwrapped().toString() : "";
  }

  public boolean flag(String key) {
    return ConfigCheck.flag(rooted, key(key));
  }

  public int positiveInt(String key) {
    return ConfigCheck.positiveInt(rooted, key(key));
  }

  public Duration positiveDuration(String key) {
    return ConfigCheck.positiveDuration(rooted, key(key));
  }

  /** A size in bytes, such as {@code 100MiB} or {@code 1048576}. */
  public long bytes(String key) {
    long value;
    try {
      value = rooted.getBytes(key(key));
    } catch (com.typesafe.config.ConfigException e) {
      throw new TidemarkException("invalid config key " + key(key) + ": expected a size such as 100MiB or 1048576");
    }
    if (value <= 0) throw new TidemarkException("invalid config key " + key(key) + " = " + value + ": expected a positive size such as 100MiB");
    return value;
  }

  /** The stream's format (the stream's {@code format}, handed to the sink as {@code format}). */
  public EventFormat format() {
    String label = string("format");
    EventFormat format = EventFormat.ofLabel(label);
    if (format == null) {
      throw new TidemarkException("invalid config key " + key("format") + " = \"" + label + "\": expected " + EventFormat.EXPECTED);
    }
    return format;
  }

  /** One of {@code choices}, spelled as given. */
  public String oneOf(String key, String... choices) {
    String value = string(key);
    for (String choice : choices) {
      if (choice.equals(value)) return value;
    }
    throw new TidemarkException("invalid config key " + key(key) + " = \"" + value + "\": expected " + String.join(" or ", choices));
  }

  /** The block as given, for settings classes that read their own keys. */
  public Config config() {
    return rooted.getConfig(path);
  }
}
