package io.tidemark.service;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import io.tidemark.TidemarkException;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.sink.NamespaceRoutes;
import io.tidemark.source.ChangeEnvelope;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonValue;

/**
 * A stream's built-in transforms ({@code tidemark.streams.<name>.transforms}), for the common
 * cases that need no plugin:
 *
 * <pre>
 * transforms = [
 *   { type = filter, include-namespaces = ["shop\\.orders"], exclude-namespaces = [...], operation-types = [insert, update] }
 *   { type = exclude-fields, fields = ["card.number", "internal"] }
 *   { type = include-fields, fields = ["status", "customer.name"] }
 *   { type = rename-fields, renames { "customer.name" = client } }
 *   { type = route, routes = [{ namespaces = "shop\\.orders_(\\d+)", to = orders }], default = other }
 * ]
 * </pre>
 *
 * The field transforms apply, in the order listed, to the event's {@code fullDocument}, its
 * {@code fullDocumentBeforeChange} and its {@code updateDescription} alike (updated fields, removed
 * fields and truncated arrays are dotted paths, changed the way the documents are), so every format
 * writes the same projection; the {@code documentKey} is never changed, and {@code _id} is always
 * kept. Paths go through sub-documents; an array is kept, dropped or renamed whole. A filter keeps
 * the events whose namespace and operation type match (no transform changes those, so the filters
 * run first, wherever they are listed); the events it drops are done and move the checkpoint. A
 * route ({@link NamespaceRoutes}, at most one per stream) changes nothing in the event: it gives the
 * sinks a {@code {route}} for their targets, from the event's namespace.
 *
 * <p>Every bad transform is refused when the service starts, with one line naming the stream's key.
 */
public final class EventTransforms {
  /** The transform types, as configured. */
  static final List<String> TYPES = List.of("exclude-fields", "filter", "include-fields", "rename-fields", "route");
  private static final Pattern SEGMENT = Pattern.compile("[^.$\\s][^.\\s]*");

  /** One field transform: of the documents and of the update description, in place. */
  interface FieldTransform {
    void apply(BsonDocument event);
  }

  private final List<EventFilter> filters;
  private final List<FieldTransform> fields;
  private final NamespaceRoutes routes;

  private EventTransforms(List<EventFilter> filters, List<FieldTransform> fields, NamespaceRoutes routes) {
    this.filters = List.copyOf(filters);
    this.fields = List.copyOf(fields);
    this.routes = routes;
  }

  /** No transforms. */
  public static EventTransforms none() {
    return new EventTransforms(List.of(), List.of(), NamespaceRoutes.none());
  }

  public boolean isEmpty() {
    return filters.isEmpty() && fields.isEmpty() && routes.isEmpty();
  }

  /** The route transform's routes, for the sink's {@code {route}}; {@link NamespaceRoutes#none()} without one. */
  public NamespaceRoutes routes() {
    return routes;
  }

  /** The same transforms without the route (for a sink that takes none, such as {@code tail}'s). */
  public EventTransforms withoutRoutes() {
    return new EventTransforms(filters, fields, NamespaceRoutes.none());
  }

  /** The filters, then the field transforms, after {@code stages}. */
  public PipelineBuilder<ChangeEnvelope> attach(PipelineBuilder<ChangeEnvelope> stages) {
    PipelineBuilder<ChangeEnvelope> pipeline = stages;
    if (!filters.isEmpty()) pipeline = pipeline.filter(this::keeps);
    if (!fields.isEmpty()) pipeline = pipeline.map(this::apply);
    return pipeline;
  }

  /** Whether every filter keeps the event. */
  public boolean keeps(ChangeEnvelope event) {
    return keeps(event.namespace(), event.operationType());
  }

  /** Whether every filter keeps an event of {@code namespace} ({@code "<db>.<collection>"}) and type. */
  boolean keeps(String namespace, String operationType) {
    return filters.stream().allMatch(filter -> filter.keeps(namespace, operationType));
  }

  /** The event with the field transforms applied (itself when there are none). */
  public ChangeEnvelope apply(ChangeEnvelope event) {
    if (fields.isEmpty()) return event;
    BsonDocument document = event.eventDocument();
    apply(document);
    return ChangeEnvelope.fromEventDocument(event.seqNr(), document);
  }

  /** Applies the field transforms to a change event's document, in place. */
  void apply(BsonDocument event) {
    for (FieldTransform transform : fields) transform.apply(event);
  }

  // ---- reading the configuration ------------------------------------------------------------

  /** Reads {@code <at> = [ { type = ..., ... }, ... ]} ({@code at}: {@code tidemark.streams.<name>.transforms}); none when absent. */
  static EventTransforms parse(Config config, String at) {
    if (!config.hasPath(at)) return none();
    ConfigValue value = config.getValue(at);
    if (value.valueType() != ConfigValueType.LIST) {
      throw new TidemarkException("invalid config key " + at + " = " + value.render(com.typesafe.config.ConfigRenderOptions.concise())
          + ": expected a list of transforms, such as [{ type = exclude-fields, fields = [\"card\"] }]");
    }
    List<EventFilter> filters = new ArrayList<>();
    List<FieldTransform> fields = new ArrayList<>();
    NamespaceRoutes routes = NamespaceRoutes.none();
    List<? extends ConfigValue> items = config.getList(at);
    for (int i = 0; i < items.size(); i++) {
      String key = at + "[" + i + "]";
      if (!(items.get(i) instanceof ConfigObject object)) {
        throw new TidemarkException("invalid config key " + key + " = " + items.get(i).render(com.typesafe.config.ConfigRenderOptions.concise())
            + ": expected an object { type = " + String.join(" | ", TYPES) + ", ... }");
      }
      Element element = new Element(object.toConfig(), key);
      String type = element.type();
      switch (type) {
        case "exclude-fields" -> {
          element.only("fields");
          List<String> paths = element.paths("fields");
          for (int j = 0; j < paths.size(); j++) {
            if (FieldPaths.within(paths.get(j), "_id")) {
              throw element.invalid("fields[" + j + "]", "\"" + paths.get(j) + "\"", "a field other than _id (the document's key is always kept)");
            }
          }
          fields.add(new ExcludeFields(paths));
        }
        case "include-fields" -> {
          element.only("fields");
          List<String> paths = new ArrayList<>(element.paths("fields"));
          if (paths.stream().noneMatch(path -> FieldPaths.within("_id", path))) paths.add(0, "_id");
          fields.add(new IncludeFields(paths));
        }
        case "rename-fields" -> {
          element.only("renames");
          fields.add(new RenameFields(element.renames("renames")));
        }
        case "filter" -> {
          element.only("include-namespaces", "exclude-namespaces", "operation-types");
          filters.add(element.filter());
        }
        case "route" -> {
          element.only("routes", "default");
          if (!routes.isEmpty()) {
            throw element.invalid("type", "\"route\"", "one route transform per stream: its routes are tried in order, so list them all in "
                + routes.key() + ".routes");
          }
          routes = element.routes();
        }
        default -> throw element.invalid("type", "\"" + type + "\"", "one of " + String.join(", ", TYPES));
      }
    }
    return new EventTransforms(filters, fields, routes);
  }

  /** One transform's block, read with its full key in every error. */
  private record Element(Config config, String key) {
    String type() {
      if (!config.hasPath("type")) throw new TidemarkException("missing config key " + key + ".type: expected one of " + String.join(", ", TYPES));
      return string("type");
    }

    /** Refuses keys other than {@code type} and {@code keys}. */
    void only(String... keys) {
      Set<String> known = new TreeSet<>(List.of(keys));
      known.add("type");
      for (String name : config.root().keySet()) {
        if (!known.contains(name)) {
          throw new TidemarkException("unknown config key " + key + "." + name + ": the " + type() + " transform reads "
              + String.join(", ", known));
        }
      }
    }

    TidemarkException invalid(String name, String found, String expected) {
      return new TidemarkException("invalid config key " + key + "." + name + " = " + found + ": expected " + expected);
    }

    private String string(String name) {
      ConfigValue value = config.getValue(ConfigUtil.joinPath(name));
      if (value.valueType() != ConfigValueType.STRING || value.unwrapped().toString().isBlank()) {
        throw invalid(name, value.render(com.typesafe.config.ConfigRenderOptions.concise()), "a non-empty string");
      }
      return value.unwrapped().toString();
    }

    /** A list of non-empty strings; {@code required}: missing or empty is an error. */
    List<String> strings(String name, boolean required, String example) {
      if (!config.hasPath(name)) {
        if (required) throw new TidemarkException("missing config key " + key + "." + name + ": expected " + example);
        return List.of();
      }
      ConfigValue value = config.getValue(name);
      if (value.valueType() != ConfigValueType.LIST) {
        throw invalid(name, value.render(com.typesafe.config.ConfigRenderOptions.concise()), example);
      }
      List<String> strings = new ArrayList<>();
      List<?> items = (List<?>) value.unwrapped();
      for (int i = 0; i < items.size(); i++) {
        if (!(items.get(i) instanceof String string) || string.isBlank()) {
          throw invalid(name + "[" + i + "]", String.valueOf(items.get(i)), "a non-empty string");
        }
        strings.add(string);
      }
      if (required && strings.isEmpty()) throw invalid(name, "[]", example);
      return strings;
    }

    /** Field paths: dotted names, none starting with $, none twice. */
    List<String> paths(String name) {
      List<String> paths = strings(name, true, "a list of field paths, such as [\"status\", \"customer.name\"]");
      for (int i = 0; i < paths.size(); i++) {
        checkPath(name + "[" + i + "]", paths.get(i));
        if (paths.indexOf(paths.get(i)) != i) throw invalid(name + "[" + i + "]", "\"" + paths.get(i) + "\"", "each field once");
      }
      return List.copyOf(paths);
    }

    void checkPath(String name, String path) {
      for (String segment : path.split("\\.", -1)) {
        if (!SEGMENT.matcher(segment).matches()) {
          throw invalid(name, "\"" + path + "\"", "a field path: names joined by '.', none empty or starting with '$', such as \"customer.name\"");
        }
      }
    }

    /**
     * {@code renames { from = to, "customer.name" = client }}: dotted paths on both sides (a key
     * written unquoted with dots is a path too). The new name is in the same sub-document
     * ({@code customer.name = customer.fullName}) or at the top level ({@code customer.name =
     * client}); no rename reads or writes a field another one reads or writes (so their order does
     * not matter), and {@code _id} stays.
     */
    Map<String, String> renames(String name) {
      if (!config.hasPath(name)) {
        throw new TidemarkException("missing config key " + key + "." + name + ": expected renames { from = to, \"customer.name\" = client }");
      }
      if (config.getValue(name).valueType() != ConfigValueType.OBJECT) {
        throw invalid(name, config.getValue(name).render(com.typesafe.config.ConfigRenderOptions.concise()),
            "an object of renames, such as { from = to, \"customer.name\" = client }");
      }
      Config block = config.getConfig(name);
      // In a fixed order: HOCON keeps none, and none is needed (the renames touch fields apart).
      Map<String, String> renames = new java.util.TreeMap<>();
      Map<String, ConfigValue> entries = new java.util.TreeMap<>();
      block.entrySet().forEach(entry -> entries.put(entry.getKey(), entry.getValue()));
      for (Map.Entry<String, ConfigValue> entry : entries.entrySet()) {
        String from = String.join(".", ConfigUtil.splitPath(entry.getKey()));
        String at = name + "." + entry.getKey();
        checkPath(at, from);
        if (entry.getValue().valueType() != ConfigValueType.STRING) {
          throw invalid(at, entry.getValue().render(com.typesafe.config.ConfigRenderOptions.concise()), "the new name, a field path such as \"client\"");
        }
        String to = entry.getValue().unwrapped().toString();
        checkPath(at, to);
        if (FieldPaths.within(from, "_id") || FieldPaths.within(to, "_id")) {
          throw invalid(at, "\"" + to + "\"", "a rename that leaves _id as it is (the document's key)");
        }
        if (FieldPaths.within(from, to) || FieldPaths.within(to, from)) {
          throw invalid(at, "\"" + to + "\"", "a field outside \"" + from + "\" and not one of its parents");
        }
        int dot = from.lastIndexOf('.');
        boolean sibling = dot > 0 && to.startsWith(from.substring(0, dot + 1)) && to.indexOf('.', dot + 1) < 0;
        if (to.contains(".") && !sibling) {
          // An update that replaces another sub-document would lose the renamed field there: the
          // update description does not hold the value to put back.
          throw invalid(at, "\"" + to + "\"", "a new name in the same sub-document as \"" + from + "\" or at the top level,"
              + " such as \"" + (dot > 0 ? from.substring(0, dot + 1) : "") + "client\" or \"client\"");
        }
        renames.put(from, to);
      }
      if (renames.isEmpty()) throw invalid(name, "{}", "at least one rename, such as { from = to }");
      // Renames that touch no field of another one: the order they are applied in makes no difference.
      for (Map.Entry<String, String> one : renames.entrySet()) {
        for (Map.Entry<String, String> other : renames.entrySet()) {
          if (one == other) continue;
          List<String> paths = List.of(one.getKey(), one.getValue());
          List<String> others = List.of(other.getKey(), other.getValue());
          for (String path : paths) {
            for (String theirs : others) {
              if (FieldPaths.within(path, theirs) || FieldPaths.within(theirs, path)) {
                throw invalid(name + "." + ConfigUtil.joinPath(one.getKey()), "\"" + one.getValue() + "\"",
                    "renames of fields apart: \"" + path + "\" meets \"" + theirs + "\" of the rename of \"" + other.getKey() + "\"");
              }
            }
          }
        }
      }
      return renames;
    }

    /**
     * {@code routes = [{ namespaces = "<regex>", to = "<route, with $1..>" }, ...]} and an optional
     * {@code default}: each regular expression compiles, each {@code to} refers to groups it has.
     */
    NamespaceRoutes routes() {
      String example = "a list of routes, such as [{ namespaces = \"shop\\\\.orders_(\\\\d+)\", to = orders }]";
      if (!config.hasPath("routes")) throw new TidemarkException("missing config key " + key + ".routes: expected " + example);
      ConfigValue value = config.getValue("routes");
      if (value.valueType() != ConfigValueType.LIST) throw invalid("routes", value.render(com.typesafe.config.ConfigRenderOptions.concise()), example);
      List<? extends ConfigValue> items = config.getList("routes");
      if (items.isEmpty()) throw invalid("routes", "[]", example);
      List<NamespaceRoutes.Route> routes = new ArrayList<>();
      for (int i = 0; i < items.size(); i++) {
        String name = "routes[" + i + "]";
        if (!(items.get(i) instanceof ConfigObject object)) {
          throw invalid(name, items.get(i).render(com.typesafe.config.ConfigRenderOptions.concise()),
              "a route { namespaces = \"<regular expression over <db>.<collection>>\", to = \"<route>\" }");
        }
        Element route = new Element(object.toConfig(), key + "." + name);
        for (String field : object.keySet()) {
          if (!field.equals("namespaces") && !field.equals("to")) {
            throw new TidemarkException("unknown config key " + key + "." + name + "." + field + ": a route reads namespaces, to");
          }
        }
        for (String field : List.of("namespaces", "to")) {
          if (!route.config.hasPath(field)) {
            throw new TidemarkException("missing config key " + key + "." + name + "." + field + ": expected a route { namespaces = \"shop\\\\.orders_(\\\\d+)\","
                + " to = orders }");
          }
        }
        String regex = route.string("namespaces");
        Pattern pattern;
        try {
          pattern = Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
          throw invalid(name + ".namespaces", "\"" + regex + "\"", "a regular expression over \"<db>.<collection>\", such as"
              + " \"shop\\\\.orders_(\\\\d+)\": " + e.getDescription() + " near index " + e.getIndex());
        }
        String to = route.string("to");
        String problem = NamespaceRoutes.replacementProblem(pattern, to);
        if (problem != null) throw invalid(name + ".to", "\"" + to + "\"", problem);
        routes.add(new NamespaceRoutes.Route(pattern, to));
      }
      String fallback = null;
      if (config.hasPath("default")) {
        fallback = string("default");
        if (fallback.contains("$")) {
          throw invalid("default", "\"" + fallback + "\"", "a route without group references (it is the route of a namespace no route matches)");
        }
      }
      return NamespaceRoutes.of(key, routes, fallback);
    }

    EventFilter filter() {
      List<Pattern> include = patterns("include-namespaces");
      List<Pattern> exclude = patterns("exclude-namespaces");
      List<String> types = strings("operation-types", false, "a list of operation types, such as [insert, update]");
      for (int i = 0; i < types.size(); i++) {
        if (!StreamDefinition.OPERATION_TYPES.contains(types.get(i))) {
          throw invalid("operation-types[" + i + "]", "\"" + types.get(i) + "\"",
              "change event types such as insert, update, replace, delete (one of " + String.join(", ", StreamDefinition.OPERATION_TYPES) + ")");
        }
      }
      if (include.isEmpty() && exclude.isEmpty() && types.isEmpty()) {
        throw new TidemarkException("missing config key " + key + ".include-namespaces: a filter needs include-namespaces,"
            + " exclude-namespaces or operation-types");
      }
      return new EventFilter(include, exclude, Set.copyOf(types));
    }

    private List<Pattern> patterns(String name) {
      List<String> strings = strings(name, false, "a list of regular expressions over \"<db>.<collection>\"");
      List<Pattern> patterns = new ArrayList<>();
      for (int i = 0; i < strings.size(); i++) {
        try {
          patterns.add(Pattern.compile(strings.get(i)));
        } catch (PatternSyntaxException e) {
          throw invalid(name + "[" + i + "]", "\"" + strings.get(i) + "\"", "a regular expression over \"<db>.<collection>\", such as"
              + " \"shop\\\\.orders.*\": " + e.getDescription() + " near index " + e.getIndex());
        }
      }
      return patterns;
    }
  }

  // ---- the transforms -----------------------------------------------------------------------

  /** Keeps an event whose namespace one include matches (or there are none), no exclude matches, of one of the types (or any). */
  record EventFilter(List<Pattern> include, List<Pattern> exclude, Set<String> operationTypes) {
    boolean keeps(String namespace, String operationType) {
      boolean included = include.isEmpty() || include.stream().anyMatch(pattern -> pattern.matcher(namespace).matches());
      boolean excluded = exclude.stream().anyMatch(pattern -> pattern.matcher(namespace).matches());
      return included && !excluded && (operationTypes.isEmpty() || operationTypes.contains(operationType));
    }
  }

  /**
   * A transform of the paths of an event's documents, applied the same way to its update
   * description: {@link #document}, {@link #updatedFields}, and the paths of removed fields and
   * truncated arrays ({@link #path}).
   */
  abstract static class PathTransform implements FieldTransform {
    @Override
    public final void apply(BsonDocument event) {
      for (String image : List.of("fullDocument", "fullDocumentBeforeChange")) {
        if (event.get(image) instanceof BsonDocument document) event.put(image, document(document));
      }
      if (!(event.get("updateDescription") instanceof BsonDocument description)) return;
      Set<String> removedPaths = new LinkedHashSet<>();
      if (description.get("removedFields") instanceof BsonArray removed) {
        for (BsonValue field : removed) {
          if (field instanceof BsonString name) removedPaths.addAll(removedField(name.getValue()));
        }
      }
      if (description.get("updatedFields") instanceof BsonDocument updated) {
        description.put("updatedFields", updatedFields(updated, removedPaths));
      }
      if (description.containsKey("removedFields") || !removedPaths.isEmpty()) {
        BsonArray kept = new BsonArray();
        removedPaths.forEach(path -> kept.add(new BsonString(path)));
        description.put("removedFields", kept);
      }
      if (description.get("truncatedArrays") instanceof BsonArray truncated) {
        BsonArray kept = new BsonArray();
        for (BsonValue item : truncated) {
          if (!(item instanceof BsonDocument array) || !(array.get("field") instanceof BsonString field)) continue;
          String path = path(field.getValue());
          if (path != null) kept.add(array.clone().append("field", new BsonString(path)));
        }
        description.put("truncatedArrays", kept);
      }
    }

    /** The document after this transform. */
    abstract BsonDocument document(BsonDocument document);

    /**
     * The updated fields (dotted paths to their new values) after this transform; a field the
     * transformed document had before and no longer has after the update is added to {@code removed}.
     */
    abstract BsonDocument updatedFields(BsonDocument updated, Set<String> removed);

    /** Where a field's path goes; null: it is dropped. */
    abstract String path(String path);

    /** The paths a removed field stands for after this transform. */
    List<String> removedField(String path) {
      String moved = path(path);
      return moved == null ? List.of() : List.of(moved);
    }
  }

  /** {@code exclude-fields}: drops the fields at the paths (and what they hold). */
  static final class ExcludeFields extends PathTransform {
    private final List<String> paths;

    ExcludeFields(List<String> paths) {
      this.paths = List.copyOf(paths);
    }

    @Override
    BsonDocument document(BsonDocument document) {
      for (String path : paths) FieldPaths.remove(document, path);
      return document;
    }

    @Override
    BsonDocument updatedFields(BsonDocument updated, Set<String> removed) {
      BsonDocument kept = new BsonDocument();
      for (Map.Entry<String, BsonValue> field : updated.entrySet()) {
        String name = field.getKey();
        if (paths.stream().anyMatch(path -> FieldPaths.within(name, path))) continue;
        BsonValue value = field.getValue();
        if (value instanceof BsonDocument nested) {
          for (String path : paths) {
            if (FieldPaths.strictlyWithin(path, name)) {
              if (value == nested) value = nested.clone();
              FieldPaths.remove((BsonDocument) value, FieldPaths.relative(path, name));
            }
          }
        }
        kept.put(name, value);
      }
      return kept;
    }

    @Override
    String path(String path) {
      return paths.stream().anyMatch(excluded -> FieldPaths.within(path, excluded)) ? null : path;
    }
  }

  /** {@code include-fields}: keeps only the fields at the paths (and {@code _id}), as MongoDB's inclusion projection. */
  static final class IncludeFields extends PathTransform {
    private final List<String> paths;

    IncludeFields(List<String> paths) {
      this.paths = List.copyOf(paths);
    }

    @Override
    BsonDocument document(BsonDocument document) {
      return FieldPaths.project(document, paths);
    }

    @Override
    BsonDocument updatedFields(BsonDocument updated, Set<String> removed) {
      BsonDocument kept = new BsonDocument();
      for (Map.Entry<String, BsonValue> field : updated.entrySet()) {
        String name = field.getKey();
        if (paths.stream().anyMatch(path -> FieldPaths.within(name, path))) {
          kept.put(name, field.getValue());
          continue;
        }
        List<String> inner = paths.stream().filter(path -> FieldPaths.strictlyWithin(path, name)).map(path -> FieldPaths.relative(path, name)).toList();
        if (inner.isEmpty()) continue;
        if (field.getValue() instanceof BsonDocument nested) {
          kept.put(name, FieldPaths.project(nested, inner));
        } else {
          removed.add(name); // no longer a sub-document: what was kept of it is gone
        }
      }
      return kept;
    }

    @Override
    String path(String path) {
      boolean kept = paths.stream().anyMatch(included -> FieldPaths.within(path, included) || FieldPaths.strictlyWithin(included, path));
      return kept ? path : null;
    }
  }

  /** {@code rename-fields}: moves each field to its new path, in the order listed. */
  static final class RenameFields extends PathTransform {
    private final Map<String, String> renames;

    RenameFields(Map<String, String> renames) {
      this.renames = new LinkedHashMap<>(renames);
    }

    @Override
    BsonDocument document(BsonDocument document) {
      renames.forEach((from, to) -> FieldPaths.move(document, from, to));
      return document;
    }

    @Override
    BsonDocument updatedFields(BsonDocument updated, Set<String> removed) {
      BsonDocument current = updated;
      for (Map.Entry<String, String> rename : renames.entrySet()) current = renamed(current, rename.getKey(), rename.getValue(), removed);
      return current;
    }

    /**
     * The updated fields with one rename: a path inside {@code from} moves; a sub-document holding
     * {@code from} gives it up (and when it holds none, the renamed field is removed).
     */
    private static BsonDocument renamed(BsonDocument updated, String from, String to, Set<String> removed) {
      BsonDocument result = new BsonDocument();
      for (Map.Entry<String, BsonValue> field : updated.entrySet()) {
        String name = field.getKey();
        BsonValue value = field.getValue();
        if (FieldPaths.within(name, from)) {
          result.put(to + name.substring(from.length()), value);
        } else if (FieldPaths.strictlyWithin(from, name) && FieldPaths.strictlyWithin(to, name)) {
          // the whole sub-document holding both: the rename happens inside it
          if (value instanceof BsonDocument nested) {
            BsonDocument inner = nested.clone();
            FieldPaths.move(inner, FieldPaths.relative(from, name), FieldPaths.relative(to, name));
            value = inner;
          }
          result.put(name, value);
        } else if (FieldPaths.strictlyWithin(from, name)) {
          BsonValue moved = null;
          if (value instanceof BsonDocument nested) {
            BsonDocument inner = nested.clone();
            moved = FieldPaths.remove(inner, FieldPaths.relative(from, name));
            value = inner;
          }
          result.put(name, value);
          if (moved != null) {
            result.put(to, moved);
          } else {
            removed.add(to); // the new sub-document has no such field: neither has the renamed one
          }
        } else {
          result.put(name, value);
        }
      }
      return result;
    }

    @Override
    String path(String path) {
      String current = path;
      for (Map.Entry<String, String> rename : renames.entrySet()) {
        if (FieldPaths.within(current, rename.getKey())) current = rename.getValue() + current.substring(rename.getKey().length());
      }
      return current;
    }

    /** A removed sub-document that held a renamed field: the renamed field is gone too. */
    @Override
    List<String> removedField(String path) {
      List<String> paths = new ArrayList<>(List.of(path(path)));
      renames.forEach((from, to) -> {
        if (FieldPaths.strictlyWithin(from, path) && !FieldPaths.strictlyWithin(to, path)) paths.add(to);
      });
      return paths;
    }
  }
}
