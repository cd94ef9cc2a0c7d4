package io.tidemark.sink;

import io.tidemark.TidemarkException;
import io.tidemark.source.ChangeEnvelope;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A stream's routes ({@code { type = route, routes = [...], default = ... }} among its transforms):
 * a routing key for each event from its namespace, {@code "<db>.<collection>"}, which the sinks put
 * in their targets where a template says {@code {route}} (the kafka sink's {@code topic}, the
 * mongodb sink's {@code database} and {@code collection}).
 *
 * <p>The first route whose regular expression matches the whole namespace gives the event's route:
 * its {@code to}, with {@code $1}, {@code $2}... ({@code $0}: the whole namespace, {@code ${name}}: a
 * named group) replaced as {@link Matcher#appendReplacement} does, as Debezium's
 * {@code ByLogicalTableRouter} replaces its {@code topic.replacement}. An event no route matches gets
 * the {@code default}, or, without one, its namespace. The route changes nothing in the event: its
 * namespace, key and checkpoint stay as they are.
 */
public final class NamespaceRoutes {
  private static final NamespaceRoutes NONE = new NamespaceRoutes("", List.of(), null);
  /** Namespaces whose routes are remembered; a deployment has few, but a cap keeps a stray one from growing the map. */
  private static final int REMEMBERED = 10_000;

  /** One route: the namespaces it takes (a Java regular expression over the whole {@code "<db>.<collection>"}) and where to. */
  public record Route(Pattern namespaces, String to) {}

  private final String key;
  private final List<Route> routes;
  private final String fallback;
  private final Map<String, String> routeOf = new ConcurrentHashMap<>();

  private NamespaceRoutes(String key, List<Route> routes, String fallback) {
    this.key = key;
    this.routes = List.copyOf(routes);
    this.fallback = fallback;
  }

  /** No routes: the stream has no route transform. */
  public static NamespaceRoutes none() {
    return NONE;
  }

  /**
   * Routes, tried in order.
   *
   * @param key where they are configured ({@code tidemark.streams.<name>.transforms[i]}), for errors
   * @param fallback the route of an event no route matches; null: its namespace
   * @throws IllegalArgumentException when a {@code to} refers to a group its regular expression lacks
   */
  public static NamespaceRoutes of(String key, List<Route> routes, String fallback) {
    if (routes.isEmpty()) throw new IllegalArgumentException("no routes");
    for (Route route : routes) {
      String problem = replacementProblem(route.namespaces(), route.to());
      if (problem != null) throw new IllegalArgumentException(problem);
    }
    return new NamespaceRoutes(key, routes, fallback);
  }

  /** Whether there are no routes (the stream has no route transform). */
  public boolean isEmpty() {
    return routes.isEmpty();
  }

  /** Where the routes are configured: {@code tidemark.streams.<name>.transforms[i]}; empty when there are none. */
  public String key() {
    return key;
  }

  /** Whether an event no route matches has a configured route (else it gets its namespace). */
  public boolean hasDefault() {
    return fallback != null;
  }

  /** The route of an event: of its namespace. */
  public String routeOf(ChangeEnvelope event) {
    return routeOf(event.namespace());
  }

  /** The route of {@code namespace} ({@code "<db>.<collection>"}): the first route that matches it whole, else the default, else itself. */
  public String routeOf(String namespace) {
    String known = routeOf.get(namespace);
    if (known != null) return known;
    String route = resolve(namespace);
    if (routeOf.size() < REMEMBERED) routeOf.put(namespace, route);
    return route;
  }

  private String resolve(String namespace) {
    for (Route route : routes) {
      Matcher matcher = route.namespaces().matcher(namespace);
      if (matcher.matches()) {
        StringBuilder to = new StringBuilder();
        try {
          matcher.appendReplacement(to, route.to());
        } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
          throw new TidemarkException("invalid config key " + key + ": the route to \"" + route.to() + "\" of \"" + namespace + "\": "
              + e.getMessage());
        }
        return to.toString();
      }
    }
    return fallback != null ? fallback : namespace;
  }

  /**
   * What is wrong with {@code to} as the replacement of a match of {@code pattern}, in words; null
   * when nothing is. Follows {@link Matcher#appendReplacement}: {@code \x} is x; {@code $n} takes as
   * many digits as still name a group; {@code ${name}} a named group.
   */
  public static String replacementProblem(Pattern pattern, String to) {
    int groups = pattern.matcher("").groupCount();
    for (int i = 0; i < to.length(); i++) {
      char c = to.charAt(i);
      if (c == '\\') {
        if (++i == to.length()) return "a character after the '\\' at the end (\\\\ for a backslash, \\$ for a dollar sign)";
      } else if (c == '$') {
        if (++i == to.length()) return "a group reference after the '$' at the end, such as $1 (\\$ for a dollar sign)";
        char next = to.charAt(i);
        if (next == '{') {
          int end = to.indexOf('}', i);
          String name = end < 0 ? "" : to.substring(i + 1, end);
          if (!name.matches("[A-Za-z][A-Za-z0-9]*")) return "a group name in ${...}, such as ${shard}";
          if (!Pattern.compile("\\(\\?<" + name + ">").matcher(pattern.pattern()).find()) {
            return "a group the regular expression names: it has no group (?<" + name + ">...)";
          }
          i = end;
        } else if (next >= '0' && next <= '9') {
          int group = next - '0';
          if (group > groups) {
            return "group references up to $" + groups + ": the regular expression \"" + pattern.pattern() + "\" has "
                + (groups == 1 ? "1 group" : groups + " groups") + ", and $" + group + " refers to a group it lacks";
          }
          while (i + 1 < to.length() && Character.isDigit(to.charAt(i + 1)) && group * 10 + (to.charAt(i + 1) - '0') <= groups) {
            group = group * 10 + (to.charAt(++i) - '0');
          }
        } else {
          return "a group reference after '$', such as $1 or ${name} (\\$ for a dollar sign)";
        }
      }
    }
    return null;
  }
}
