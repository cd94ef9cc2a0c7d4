package io.tidemark.sink;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import java.util.Objects;

/**
 * What a {@link SinkFactory} builds a stream's sink from.
 *
 * @param stream the stream's name
 * @param settings the stream's {@code sink} block, with the stream's {@code format} as {@code format}
 *     and the sink type's defaults from {@code tidemark.sink.<type>} behind it; read it with
 *     {@link SinkBlock}, which names the whole key in errors and refuses keys the sink does not read
 * @param system the node's actor system (its configuration, dispatchers, scheduler)
 * @param routes the stream's route transform ({@link NamespaceRoutes#none()} without one): the
 *     {@code {route}} of each event, for a sink whose targets are templates
 */
public record SinkContext(String stream, Config settings, ActorSystem<?> system, NamespaceRoutes routes) {
  public SinkContext {
    Objects.requireNonNull(routes, "routes");
  }

  /** A stream without routes. */
  public SinkContext(String stream, Config settings, ActorSystem<?> system) {
    this(stream, settings, system, NamespaceRoutes.none());
  }
}
