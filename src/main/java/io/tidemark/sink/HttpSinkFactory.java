package io.tidemark.sink;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.tidemark.TidemarkException;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * {@code sink { type = http, url, headers { ... }, batch { ... }, retry { ... }, request-timeout,
 * dead-letter { ... } }}: a webhook ({@link HttpSink}). Reads and checks every key before anything is
 * sent; a header's value is never part of a message.
 */
final class HttpSinkFactory implements SinkFactory {
  /** An HTTP header name (RFC 9110's token). */
  private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]+");
  /** Headers the sink sets itself, or the HTTP client owns. */
  private static final Set<String> RESERVED_HEADERS =
      Set.of("content-type", "idempotency-key", "content-length", "host", "connection", "expect", "upgrade");

  @Override
  public String type() {
    return "http";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("url", "headers", "batch", "retry", "request-timeout", "dead-letter"));
    URI url = url(block);
    Duration minBackoff = block.positiveDuration("retry.min-backoff");
    Duration maxBackoff = block.positiveDuration("retry.max-backoff");
    if (maxBackoff.compareTo(minBackoff) < 0) {
      throw new TidemarkException("invalid config key " + block.key("retry.max-backoff") + " = " + maxBackoff.toMillis()
          + "ms: expected at least retry.min-backoff (" + minBackoff.toMillis() + "ms)");
    }
    boolean deadLetter = block.flag("dead-letter.enabled");
    String deadLetterDatabase = block.string("dead-letter.database");
    String deadLetterCollection = block.string("dead-letter.collection");
    if (deadLetter) {
      MongoSink.checkDatabaseName(deadLetterDatabase, block.key("dead-letter.database"));
      MongoSink.checkCollectionName(deadLetterCollection, block.key("dead-letter.collection"));
    }
    HttpSink.Settings settings = new HttpSink.Settings(
        url, headers(block), block.positiveInt("batch.max-events"), block.positiveDuration("batch.max-wait"),
        minBackoff, maxBackoff, block.positiveInt("retry.max-attempts"), block.positiveDuration("request-timeout"),
        deadLetter, deadLetterDatabase, deadLetterCollection, block.format());
    return new HttpSink(context, settings);
  }

  private static URI url(SinkBlock block) {
    String text = block.text("url").trim();
    String expected = ": expected an http:// or https:// URL with a host, such as https://hooks.example.com/tidemark";
    if (text.isEmpty()) throw new TidemarkException("missing config key " + block.key("url") + expected);
    URI url;
    try {
      url = new URI(text);
    } catch (URISyntaxException e) {
      throw new TidemarkException("invalid config key " + block.key("url") + expected);
    }
    String scheme = url.getScheme() == null ? "" : url.getScheme().toLowerCase(Locale.ROOT);
    if (!(scheme.equals("http") || scheme.equals("https")) || url.getHost() == null) {
      throw new TidemarkException("invalid config key " + block.key("url") + " = \"" + HttpSink.redact(url) + "\"" + expected);
    }
    return url;
  }

  /** The configured headers, by name; each a string. */
  private static Map<String, String> headers(SinkBlock block) {
    Map<String, String> headers = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
    if (!block.has("headers")) return headers;
    Config config = block.config().getConfig("headers");
    for (Map.Entry<String, ConfigValue> entry : config.root().entrySet()) {
      String name = entry.getKey();
      String key = block.key("headers") + ".\"" + name + "\"";
      if (!HEADER_NAME.matcher(name).matches()) {
        throw new TidemarkException("invalid config key " + key + ": expected an HTTP header name (letters, digits and -)");
      }
      if (RESERVED_HEADERS.contains(name.toLowerCase(Locale.ROOT))) {
        throw new TidemarkException("invalid config key " + key + ": the http sink sets " + name + " itself");
      }
      ConfigValueType type = entry.getValue().valueType();
      if (type == ConfigValueType.OBJECT || type == ConfigValueType.LIST || type == ConfigValueType.NULL) {
        throw new TidemarkException("invalid config key " + key + ": expected a string (the header's value)");
      }
      String value = entry.getValue().unwrapped().toString();
      if (value.chars().anyMatch(c -> c < 0x20 && c != '\t' || c == 0x7f)) {
        throw new TidemarkException("invalid config key " + key + ": its value holds a line break or another control character"
            + " (the value is not shown)");
      }
      headers.put(name, value);
    }
    return headers;
  }
}
