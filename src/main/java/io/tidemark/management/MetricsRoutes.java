package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.HttpHeader;
import akka.http.javadsl.model.HttpResponse;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;

/**
 * {@code GET /metrics} on the management port: {@link TidemarkMetrics} in the format the request's
 * {@code Accept} header asks for (OpenMetrics 1.0, or the Prometheus text format 0.0.4 by default),
 * negotiated by the Prometheus client library. Read-only.
 */
@akka.annotation.InternalApi
public final class MetricsRoutes extends AllDirectives implements ManagementRouteProvider {
  private final TidemarkMetrics metrics;

  public MetricsRoutes(ExtendedActorSystem system) {
    this.metrics = TidemarkMetrics.get(Adapter.toTyped(system));
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    return path("metrics", () -> get(() -> extractRequest(request -> {
      String accept = request.getHeader("Accept").map(HttpHeader::value).orElse(null);
      TidemarkMetrics.Exposition exposition = metrics.scrape(accept);
      // The response as it is: the format is already chosen, so no marshaller negotiates it again.
      return complete(HttpResponse.create().withEntity(HttpEntities.create(ContentTypes.parse(exposition.contentType()), exposition.body())));
    })));
  }
}
