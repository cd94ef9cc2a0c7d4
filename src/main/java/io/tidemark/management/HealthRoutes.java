package io.tidemark.management;

import akka.actor.ExtendedActorSystem;
import akka.http.javadsl.model.StatusCodes;
import akka.http.javadsl.server.AllDirectives;
import akka.http.javadsl.server.Route;
import akka.management.HealthCheckSettings;
import akka.management.javadsl.CheckResult;
import akka.management.javadsl.HealthChecks;
import akka.management.javadsl.ManagementRouteProvider;
import akka.management.javadsl.ManagementRouteProviderSettings;
import io.tidemark.Errors;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * {@code /alive} and {@code /ready} over Akka Management's health checks (the same checks, paths and
 * bodies as its own routes), answering 503 Service Unavailable when a check fails or errs: what load
 * balancers and Kubernetes read as "not ready". Akka Management 1.1.4 answers 500. Registered in
 * {@code conf/management.conf} in place of {@code akka.management.HealthCheckRoutes}.
 */
@akka.annotation.InternalApi
public final class HealthRoutes extends AllDirectives implements ManagementRouteProvider {
  private final HealthChecks checks;
  private final HealthCheckSettings settings;

  public HealthRoutes(ExtendedActorSystem system) {
    this.settings = HealthCheckSettings.create(system.settings().config().getConfig("akka.management.health-checks"));
    this.checks = new HealthChecks(system, settings);
  }

  @Override
  public Route routes(ManagementRouteProviderSettings routeSettings) {
    return concat(
        path(settings.readinessPath(), () -> get(() -> answer(checks::readyResult))),
        path(settings.livenessPath(), () -> get(() -> answer(checks::aliveResult))));
  }

  private Route answer(Supplier<CompletionStage<CheckResult>> check) {
    return onComplete(check.get(), result -> {
      if (result.isSuccess() && result.get().isSuccess()) return complete(StatusCodes.OK, "OK");
      String reason = result.isSuccess() ? result.get().failure().orElse("a check failed") : Errors.summary(result.failed().get());
      return complete(StatusCodes.SERVICE_UNAVAILABLE, "Not Healthy: " + reason);
    });
  }
}
