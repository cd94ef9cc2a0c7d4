package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.Errors;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * On the management port, as JSON, read-only: {@code GET /tidemark/streams}, the streams this node
 * runs, with their figures; {@code GET /tidemark/cluster/streams}, every stream of the cluster, who
 * holds it and its figures, gathered from every node ({@link ClusterStatus}); and
 * {@code GET /tidemark/samples} for {@code report}. Registered in {@code conf/management.conf}.
 */
@akka.annotation.InternalApi
public final class StatusRoutes extends AllDirectives implements ManagementRouteProvider {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ExtendedActorSystem system;
  private final ClusterStatus cluster;

  public StatusRoutes(ExtendedActorSystem system) {
    this.system = system;
    this.cluster = ClusterStatus.get(Adapter.toTyped(system)); // this node answers the cluster-wide status from now on
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    Samples samples = Samples.get(Adapter.toTyped(system)); // starts recording with the endpoints
    return pathPrefix("tidemark", () -> concat(
        path("streams", () -> get(() -> complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, render())))),
        pathPrefix("cluster", () -> path("streams", () -> get(this::clusterStreams))),
        path("samples", () -> get(() -> complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, json(samplesBody(samples))))))));
  }

  private Route clusterStreams() {
    return onComplete(cluster.streams(), answer -> answer.isSuccess()
        ? complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, json(answer.get())))
        : complete(StatusCodes.INTERNAL_SERVER_ERROR, HttpEntities.create(ContentTypes.APPLICATION_JSON,
            json(Map.of("error", "the cluster's streams could not be gathered: " + Errors.summary(answer.failed().get()))))));
  }

  private Map<String, Object> samplesBody(Samples samples) {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", system.provider().getDefaultAddress().toString());
    body.put("intervalMillis", samples.interval().toMillis());
    body.put("streams", samples.all());
    return body;
  }

  private static String json(Object body) {
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      return "{\"error\": \"" + e.getMessage().replace("\"", "'") + "\"}";
    }
  }

  private String render() {
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", system.provider().getDefaultAddress().toString());
    body.put("streams", StreamStatus.local(Adapter.toTyped(system)));
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      return "{\"error\": \"" + e.getMessage().replace("\"", "'") + "\", \"streams\": " + List.of() + "}";
    }
  }
}
