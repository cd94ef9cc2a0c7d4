package io.tidemark.service;

import com.mongodb.client.model.changestream.FullDocument;
import com.mongodb.client.model.changestream.FullDocumentBeforeChange;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.tidemark.TidemarkException;
import io.tidemark.sink.EventFormat;
import io.tidemark.sink.Sinks;
import io.tidemark.source.StartupMode;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.json.JsonParseException;

/**
 * One stream of the service, read and checked from {@code tidemark.streams.<name>}:
 * <pre>
 * source { database, collection, include-namespaces = [regex, ...], exclude-namespaces = [...], operation-types = [...],
 *          match = "&lt;Extended JSON of a $match&gt;", full-document, full-document-before-change, show-expanded-events }
 * format = relaxed-json | canonical-json | document | debezium
 * sink { type = stdout | file | jdbc | kafka | mongodb | http | &lt;a plugin's&gt;, ... }
 * transforms = [{ type = exclude-fields, fields = [...] }, { type = route, routes = [...] }, ...]   (see {@link EventTransforms})
 * stages = ["com.acme.Enrich", ...]
 * </pre>
 * Without {@code collection} the stream watches the whole database; without {@code database}, the
 * whole deployment. {@code include-namespaces} / {@code exclude-namespaces} are Java regular
 * expressions matched against the whole namespace {@code "<db>.<collection>"} of each event (an event
 * is kept when some include matches, or there are none, and no exclude matches); they are not called
 * {@code include} and {@code exclude} because {@code include} is a HOCON keyword. Every invalid value is refused with one line
 * that names the stream's key, what was found and what was expected.
 */
public record StreamDefinition(
    String name,
    String database,
    String collection,
    List<Pattern> include,
    List<Pattern> exclude,
    List<String> operationTypes,
    BsonDocument match,
    FullDocument fullDocument,
    FullDocumentBeforeChange fullDocumentBeforeChange,
    boolean showExpandedEvents,
    StartupMode startup,
    EventFormat format,
    String sinkType,
    Config sink,
    EventTransforms transforms,
    List<String> stages) {

  private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_-]+");
  private static final Set<String> KEYS = Set.of("source", "format", "sink", "transforms", "stages");
  private static final Set<String> SOURCE_KEYS = Set.of(
      "database", "collection", "include-namespaces", "exclude-namespaces", "operation-types", "match", "full-document", "full-document-before-change",
      "show-expanded-events", "startup");
  /** The operation types a change stream reports (https://www.mongodb.com/docs/manual/reference/change-events/). */
  public static final List<String> OPERATION_TYPES = List.of(
      "insert", "update", "replace", "delete", "drop", "rename", "dropDatabase", "invalidate",
      "create", "createIndexes", "dropIndexes", "modify", "shardCollection", "refineCollectionShardKey", "reshardCollection");
  private static final String CLASS_NAME = "[A-Za-z_$][A-Za-z0-9_$]*(\\.[A-Za-z_$][A-Za-z0-9_$]*)*";

  /** The streams under {@code tidemark.streams} of a service's configuration, in name order; none is an error. */
  public static List<StreamDefinition> all(Config config, Sinks sinks) {
    if (!config.hasPath("tidemark.streams") || config.getObject("tidemark.streams").isEmpty()) {
      throw new TidemarkException("no streams configured: expected tidemark.streams.<name> { source { database = ..., collection = ... },"
          + " sink { type = ... } } (see conf/examples/)");
    }
    List<StreamDefinition> streams = new ArrayList<>();
    for (String name : new java.util.TreeSet<>(config.getObject("tidemark.streams").keySet())) {
      streams.add(parse(name, config, sinks));
    }
    return List.copyOf(streams);
  }

  /** Reads and checks {@code tidemark.streams.<name>}. */
  public static StreamDefinition parse(String name, Config config, Sinks sinks) {
    if (!NAME.matcher(name).matches()) {
      throw new TidemarkException("invalid stream name tidemark.streams.\"" + name + "\": expected letters, digits, '_' and '-'"
          + " (the name keys the stream's checkpoint)");
    }
    String at = "tidemark.streams." + name;
    Config stream = object(config, at);
    unknownKeys(stream, at, KEYS);
    String source = at + ".source";
    Config src = stream.hasPath("source") ? object(config, source) : ConfigFactory.empty();
    unknownKeys(src, source, SOURCE_KEYS);
    String database = optionalString(config, source + ".database");
    String collection = optionalString(config, source + ".collection");
    if (collection != null && database == null) {
      throw new TidemarkException("invalid config key " + source + ".collection = \"" + collection
          + "\": a collection needs its database: set " + source + ".database too");
    }
    List<Pattern> include = patterns(config, source + ".include-namespaces");
    List<Pattern> exclude = patterns(config, source + ".exclude-namespaces");
    List<String> types = strings(config, source + ".operation-types");
    for (int i = 0; i < types.size(); i++) {
      if (!OPERATION_TYPES.contains(types.get(i))) {
        throw new TidemarkException("invalid config key " + source + ".operation-types[" + i + "] = \"" + types.get(i)
            + "\": expected change event types such as insert, update, replace, delete (one of " + String.join(", ", OPERATION_TYPES) + ")");
      }
    }
    BsonDocument match = match(config, source + ".match");
    FullDocument fullDocument = choice(config, source + ".full-document", "default",
        List.of("default", "updateLookup", "whenAvailable", "required"), FullDocument::fromString);
    FullDocumentBeforeChange before = choice(config, source + ".full-document-before-change", "off",
        List.of("off", "whenAvailable", "required"), FullDocumentBeforeChange::fromString);
    // null: tidemark.pipeline.startup.mode applies.
    StartupMode startup = optionalString(config, source + ".startup") == null ? null : choice(config, source + ".startup", null,
        java.util.Arrays.stream(StartupMode.values()).map(StartupMode::label).toList(),
        label -> java.util.Arrays.stream(StartupMode.values()).filter(mode -> mode.label().equals(label)).findFirst().orElseThrow());
    boolean expanded = src.hasPath("show-expanded-events") && io.tidemark.ConfigCheck.flag(config, source + ".show-expanded-events");

    String formatKey = at + ".format";
    String formatLabel = optionalString(config, formatKey);
    EventFormat format = formatLabel == null ? EventFormat.RELAXED_JSON : EventFormat.ofLabel(formatLabel);
    if (format == null) {
      throw new TidemarkException("invalid config key " + formatKey + " = \"" + formatLabel + "\": expected " + EventFormat.EXPECTED);
    }

    String sinkAt = at + ".sink";
    if (!stream.hasPath("sink")) {
      throw new TidemarkException("missing config key " + sinkAt + ": expected sink { type = " + String.join(" | ", sinks.types()) + ", ... }");
    }
    Config sink = object(config, sinkAt);
    String type = optionalString(config, sinkAt + ".type");
    if (type == null) {
      throw new TidemarkException("missing config key " + sinkAt + ".type: expected one of " + String.join(", ", sinks.types()));
    }
    try {
      sinks.forType(type);
    } catch (TidemarkException e) {
      throw new TidemarkException("invalid config key " + sinkAt + ".type: " + e.getMessage());
    }
    Config sinkSettings = sink.withFallback(ConfigFactory.parseMap(Map.of("format", format.label())));
    if (config.hasPath("tidemark.sink." + type)) sinkSettings = sinkSettings.withFallback(config.getConfig("tidemark.sink." + type));

    EventTransforms transforms = EventTransforms.parse(config, at + ".transforms");
    List<String> stages = strings(config, at + ".stages");
    for (int i = 0; i < stages.size(); i++) {
      if (!stages.get(i).matches(CLASS_NAME)) {
        throw new TidemarkException("invalid config key " + at + ".stages[" + i + "] = \"" + stages.get(i)
            + "\": expected a class name such as com.acme.Enrich");
      }
    }
    return new StreamDefinition(name, database, collection, include, exclude, types, match, fullDocument, before, expanded, startup, format,
        type, sinkSettings.resolve(), transforms, stages);
  }


  /**
   * The same stream written to another sink, in another format (what {@code tidemark tail} runs),
   * without its route: the routes were for its own sink's targets.
   */
  public StreamDefinition withSink(EventFormat format, String sinkType, Config sink) {
    return new StreamDefinition(name, database, collection, include, exclude, operationTypes, match, fullDocument, fullDocumentBeforeChange,
        showExpandedEvents, startup, format, sinkType, sink, transforms.withoutRoutes(), stages);
  }

  /** The same stream with another startup mode (null: {@code tidemark.pipeline.startup.mode}). */
  public StreamDefinition withStartup(StartupMode mode) {
    return new StreamDefinition(name, database, collection, include, exclude, operationTypes, match, fullDocument, fullDocumentBeforeChange,
        showExpandedEvents, mode, format, sinkType, sink, transforms, stages);
  }

  /** What the stream watches, in words: {@code shop.orders}, {@code shop.*}, {@code the whole deployment}. */
  public String target() {
    return database == null ? "the whole deployment" : collection == null ? database + ".*" : database + "." + collection;
  }

  /** Whether an event of {@code namespace} ({@code "<db>.<collection>"}) passes include and exclude. */
  public boolean includes(String namespace) {
    boolean included = include.isEmpty() || include.stream().anyMatch(pattern -> pattern.matcher(namespace).matches());
    return included && exclude.stream().noneMatch(pattern -> pattern.matcher(namespace).matches());
  }

  /** The aggregation stages after {@code $changeStream}: the operation types and the configured {@code $match}. */
  public List<BsonDocument> pipeline() {
    List<BsonDocument> stages = new ArrayList<>();
    if (!operationTypes.isEmpty()) {
      BsonArray types = new BsonArray();
      operationTypes.forEach(type -> types.add(new BsonString(type)));
      stages.add(new BsonDocument("$match", new BsonDocument("operationType", new BsonDocument("$in", types))));
    }
    if (match != null) stages.add(new BsonDocument("$match", match));
    return stages;
  }

  private static Config object(Config config, String path) {
    try {
      return config.getConfig(path);
    } catch (ConfigException.WrongType e) {
      throw new TidemarkException("invalid config key " + path + " = " + config.getValue(path).render() + ": expected an object { ... }");
    }
  }

  private static void unknownKeys(Config block, String at, Set<String> known) {
    for (String key : block.root().keySet()) {
      if (!known.contains(key)) {
        throw new TidemarkException("unknown config key " + at + "." + key + ": expected one of " + String.join(", ", new java.util.TreeSet<>(known)));
      }
    }
  }

  private static String optionalString(Config config, String path) {
    if (!config.hasPath(path)) return null;
    ConfigValue value = config.getValue(path);
    if (value.valueType() != ConfigValueType.STRING || value.unwrapped().toString().isBlank()) {
      throw new TidemarkException("invalid config key " + path + " = " + value.render() + ": expected a non-empty string");
    }
    return value.unwrapped().toString();
  }

  private static List<String> strings(Config config, String path) {
    if (!config.hasPath(path)) return List.of();
    ConfigValue value = config.getValue(path);
    if (value.valueType() != ConfigValueType.LIST) {
      throw new TidemarkException("invalid config key " + path + " = " + value.render() + ": expected a list of strings [\"...\", ...]");
    }
    List<String> strings = new ArrayList<>();
    List<?> items = (List<?>) value.unwrapped();
    for (int i = 0; i < items.size(); i++) {
      if (!(items.get(i) instanceof String string) || string.isBlank()) {
        throw new TidemarkException("invalid config key " + path + "[" + i + "] = " + items.get(i) + ": expected a non-empty string");
      }
      strings.add(string);
    }
    return List.copyOf(strings);
  }

  private static List<Pattern> patterns(Config config, String path) {
    List<String> strings = strings(config, path);
    List<Pattern> patterns = new ArrayList<>();
    for (int i = 0; i < strings.size(); i++) {
      try {
        patterns.add(Pattern.compile(strings.get(i)));
      } catch (PatternSyntaxException e) {
        throw new TidemarkException("invalid config key " + path + "[" + i + "] = \"" + strings.get(i)
            + "\": expected a regular expression over \"<db>.<collection>\", such as \"shop\\\\.orders.*\": "
            + e.getDescription() + " near index " + e.getIndex());
      }
    }
    return List.copyOf(patterns);
  }

  private static BsonDocument match(Config config, String path) {
    String json = optionalString(config, path);
    if (json == null) return null;
    try {
      BsonDocument document = BsonDocument.parse(json);
      if (document.containsKey("$match")) {
        throw new TidemarkException("invalid config key " + path + " = " + json
            + ": expected the body of a $match, such as \"{\\\"fullDocument.status\\\": \\\"paid\\\"}\", without $match itself");
      }
      return document;
    } catch (JsonParseException | org.bson.BsonInvalidOperationException e) {
      throw new TidemarkException("invalid config key " + path + " = " + json + ": expected a document in Extended JSON, such as"
          + " \"{\\\"operationType\\\": \\\"insert\\\"}\": " + e.getMessage());
    }
  }

  private static <T> T choice(Config config, String path, String fallback, List<String> choices, java.util.function.Function<String, T> of) {
    String value = optionalString(config, path);
    String chosen = value == null ? fallback : value;
    if (!choices.contains(chosen)) {
      throw new TidemarkException("invalid config key " + path + " = \"" + chosen + "\": expected " + String.join(", ", choices));
    }
    return of.apply(chosen);
  }
}
