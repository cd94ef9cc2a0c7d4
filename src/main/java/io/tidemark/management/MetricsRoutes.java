package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentType;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;

/** {@code GET /metrics} on the management port: {@link TidemarkMetrics} in the Prometheus text format. Read-only. */
@akka.annotation.InternalApi
public final class MetricsRoutes extends AllDirectives implements ManagementRouteProvider {
  /** text/plain; version=0.0.4; charset=utf-8 */
  static final ContentType PROMETHEUS_TEXT = ContentTypes.parse("text/plain; version=0.0.4; charset=utf-8");

  private final TidemarkMetrics metrics;

  public MetricsRoutes(ExtendedActorSystem system) {
    this.metrics = TidemarkMetrics.get(Adapter.toTyped(system));
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path("metrics", () -> get(() -> complete(HttpEntities.create(PROMETHEUS_TEXT, metrics.scrape().getBytes(java.nio.charset.StandardCharsets.UTF_8)))));
  }
}
