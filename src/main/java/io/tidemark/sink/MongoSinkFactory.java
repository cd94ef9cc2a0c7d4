package io.tidemark.sink;

import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoConnector;
import io.tidemark.connection.MongoSettings;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code sink { type = mongodb, uri, database, collection, positions-database }}: a materialized view
 * of the stream's documents in another collection or deployment, through the effectively-once
 * {@link MongoTransactionalSink} ({@link MongoSink} says what it writes).
 *
 * <ul>
 *   <li>{@code uri}: the target deployment; empty, the source's ({@code tidemark.mongodb.uri});
 *   <li>{@code database}, {@code collection}: the target namespace of an event, templates in which
 *       {@code {db}}, {@code {collection}}, {@code {stream}} and {@code {route}} (the stream's route
 *       transform's, {@link NamespaceRoutes}) are replaced (defaults: the source's own names, for
 *       another deployment);
 *   <li>{@code positions-database}: where the sink keeps its positions and epochs, on the target.
 * </ul>
 *
 * A target that is the source itself (no {@code uri}, and the source's database and collection) is
 * refused: each write would be read back and written again.
 */
final class MongoSinkFactory implements SinkFactory {
  private static final Pattern PLACEHOLDER = Pattern.compile("\\{([^}]*)}");
  private static final Set<String> PLACEHOLDERS = Set.of("db", "collection", "stream", "route");

  @Override
  public String type() {
    return "mongodb";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("uri", "database", "collection", "positions-database"));
    String uri = block.text("uri").trim();
    boolean sourceDeployment = uri.isEmpty();
    MongoSettings source = MongoSettings.create(context.system().settings().config());
    String target = sourceDeployment ? source.uri : uri;
    try {
      MongoConnector.parse(target);
    } catch (TidemarkException e) {
      throw new TidemarkException("invalid config key " + (sourceDeployment ? "tidemark.mongodb.uri" : block.key("uri")) + ": "
          + e.getMessage(), e);
    }
    String database = template(block, "database");
    String collection = template(block, "collection");
    NamespaceRoutes routes = context.routes();
    for (String key : java.util.List.of("database", "collection")) {
      String template = key.equals("database") ? database : collection;
      if (!template.contains("{route}")) continue;
      if (routes.isEmpty()) {
        throw new TidemarkException("invalid config key " + block.key(key) + " = \"" + template + "\": {route} is the route a route"
            + " transform gives, and the stream has none: expected { type = route, routes = [...] } in tidemark.streams." + context.stream()
            + ".transforms, or {db}, {collection}, {stream}");
      }
      if (key.equals("database") && !routes.hasDefault()) {
        throw new TidemarkException("invalid config key " + block.key(key) + " = \"" + template + "\": an event no route matches is"
            + " routed to its namespace, \"<db>.<collection>\", and a database name cannot hold '.': expected a default route in "
            + routes.key() + ".default");
      }
    }
    String positions = block.string("positions-database");
    MongoSink.checkDatabaseName(positions, block.key("positions-database"));
    if (sourceDeployment && database.equals("{db}") && collection.equals("{collection}")) {
      throw new TidemarkException("invalid config key " + block.key("uri") + ": the mongodb sink would write each document back into"
          + " the collection it came from: expected a uri of another deployment, or a database or collection other than the"
          + " source's (such as database = \"{db}_view\")");
    }
    return new MongoSink(context, target, sourceDeployment, database, collection, positions, source.connectTimeout, routes);
  }

  /** A namespace template: its placeholders known, and a valid name once they are filled in. */
  private static String template(SinkBlock block, String key) {
    String template = block.string(key);
    Matcher placeholder = PLACEHOLDER.matcher(template);
    while (placeholder.find()) {
      if (!PLACEHOLDERS.contains(placeholder.group(1))) {
        throw new TidemarkException("invalid config key " + block.key(key) + " = \"" + template + "\": unknown placeholder "
            + placeholder.group() + ": expected {db}, {collection}, {stream} or {route}");
      }
    }
    String example = MongoSink.fill(template, "db", "collection", "stream", "route");
    if (key.equals("database")) MongoSink.checkDatabaseName(example, block.key(key));
    else MongoSink.checkCollectionName(example, block.key(key));
    return template;
  }
}
