package io.tidemark.sink;

/**
 * Builds a {@link ConfiguredSink} from a stream's {@code sink} block. One per sink type; the
 * built-in types and those of plugins (found with {@link java.util.ServiceLoader}) are looked up
 * by {@link #type()}.
 */
public interface SinkFactory {
  /** The name in configuration: {@code sink.type = "<type>"}. */
  String type();

  /**
   * The sink for one stream. Bad settings fail here, with a {@link io.tidemark.TidemarkException}
   * that names the stream, the key, what was found and what was expected.
   */
  ConfiguredSink create(SinkContext context);
}
