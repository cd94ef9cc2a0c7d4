package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.actor.typed.javadsl.Adapter;
import akka.http.javadsl.model.ContentTypes;
import akka.http.javadsl.model.HttpEntities;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.tidemark.pipeline.RunningPipelines;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code GET /tidemark/streams} on the management port: the streams this node runs, with their
 * figures, as JSON. Registered in {@code conf/management.conf}; read-only.
 */
@akka.annotation.InternalApi
public final class StatusRoutes extends AllDirectives implements ManagementRouteProvider {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final ExtendedActorSystem system;

  public StatusRoutes(ExtendedActorSystem system) {
    this.system = system;
  }

  @Override
  public Route routes(ManagementRouteProviderSettings settings) {
    Samples samples = Samples.get(Adapter.toTyped(system)); // starts recording with the endpoints
    return pathPrefix("tidemark", () -> concat(
        path("streams", () -> get(() -> complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, render())))),
        path("samples", () -> get(() -> complete(HttpEntities.create(ContentTypes.APPLICATION_JSON, json(samplesBody(samples))))))));
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
    RunningPipelines running = RunningPipelines.get(Adapter.toTyped(system));
    Map<String, Object> body = new LinkedHashMap<>();
    body.put("node", system.provider().getDefaultAddress().toString());
    body.put("streams", running.all().stream().map(StreamStatus::of).toList());
    try {
      return JSON.writeValueAsString(body);
    } catch (JsonProcessingException e) {
      return "{\"error\": \"" + e.getMessage().replace("\"", "'") + "\", \"streams\": " + List.of() + "}";
    }
  }
}
