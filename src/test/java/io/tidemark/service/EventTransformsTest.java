package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.sink.NamespaceRoutes;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.bson.BsonArray;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonNull;
import org.bson.BsonString;
import org.bson.BsonValue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The declarative transforms: examples of each, every bad configuration refused with its key, and
 * properties over generated documents and updates (seeded, so a failure repeats): include and
 * exclude commute and are idempotent, together they split a document, renames are idempotent, and
 * for every transform the transformed update description turns the transformed document before
 * an update into the transformed document after it.
 */
class EventTransformsTest {
  private static final String AT = "tidemark.streams.orders.transforms";
  private static final int CASES = 2_000;
  private static final List<String> NAMES = List.of("a", "b", "c", "d");

  private static EventTransforms transforms(String list) {
    Config config = ConfigFactory.parseString(AT + " = " + list);
    return EventTransforms.parse(config, AT);
  }

  private static BsonDocument json(String json) {
    return BsonDocument.parse(json);
  }

  /** The event after the transforms, from its three parts. */
  private static BsonDocument event(EventTransforms transforms, BsonDocument before, BsonDocument after, BsonDocument description) {
    BsonDocument event = new BsonDocument("operationType", new BsonString("update"));
    if (after != null) event.append("fullDocument", after.clone());
    if (before != null) event.append("fullDocumentBeforeChange", before.clone());
    if (description != null) event.append("updateDescription", description.clone());
    transforms.apply(event);
    return event;
  }

  private static BsonDocument document(EventTransforms transforms, BsonDocument document) {
    return event(transforms, null, document, null).getDocument("fullDocument");
  }

  // ---- examples -----------------------------------------------------------------------------

  @Test
  void excludeDropsTheFieldsFromTheDocumentsAndTheUpdateDescription() {
    EventTransforms exclude = transforms("[{ type = exclude-fields, fields = [\"card.number\", internal] }]");
    BsonDocument event = event(exclude,
        json("{_id: 1, card: {number: '4111', expiry: '12/30'}, internal: 1, total: 5}"),
        json("{_id: 1, card: {number: '4242', expiry: '12/31'}, total: 6}"),
        json("{updatedFields: {card: {number: '4242', expiry: '12/31'}, 'internal.x': 2, total: 6}, removedFields: ['internal', 'other'],"
            + " truncatedArrays: [{field: 'card.number', newSize: 1}]}"));
    assertThat(event.getDocument("fullDocumentBeforeChange")).isEqualTo(json("{_id: 1, card: {expiry: '12/30'}, total: 5}"));
    assertThat(event.getDocument("fullDocument")).isEqualTo(json("{_id: 1, card: {expiry: '12/31'}, total: 6}"));
    assertThat(event.getDocument("updateDescription")).isEqualTo(json(
        "{updatedFields: {card: {expiry: '12/31'}, total: 6}, removedFields: ['other'], truncatedArrays: []}"));
  }

  @Test
  void includeKeepsTheFieldsAndTheId() {
    EventTransforms include = transforms("[{ type = include-fields, fields = [status, \"customer.name\"] }]");
    BsonDocument event = event(include, null,
        json("{_id: 7, status: 'paid', customer: {name: 'Ada', card: 'x'}, total: 3}"),
        json("{updatedFields: {status: 'paid', total: 3, 'customer.card': 'x', customer: {name: 'Ada', card: 'x'}}, removedFields: ['customer', 'note']}"));
    assertThat(event.getDocument("fullDocument")).isEqualTo(json("{_id: 7, status: 'paid', customer: {name: 'Ada'}}"));
    assertThat(event.getDocument("updateDescription")).isEqualTo(json(
        "{updatedFields: {status: 'paid', customer: {name: 'Ada'}}, removedFields: ['customer']}"));
  }

  @Test
  void renameMovesFieldsKeepingTheirPlaceAmongTheirSiblings() {
    EventTransforms rename = transforms("[{ type = rename-fields, renames { cust_id = customerId, \"customer.name\" = client,"
        + " address.zip = address.postcode } }]");
    BsonDocument document = document(rename,
        json("{_id: 1, cust_id: 9, customer: {name: 'Ada', age: 3}, address: {zip: '1000', city: 'X'}}"));
    assertThat(new ArrayList<>(document.keySet())).containsExactly("_id", "customerId", "customer", "address", "client");
    assertThat(document).isEqualTo(json("{_id: 1, customerId: 9, customer: {age: 3}, address: {postcode: '1000', city: 'X'}, client: 'Ada'}"));
    assertThat(new ArrayList<>(document.getDocument("address").keySet())).containsExactly("postcode", "city");

    BsonDocument description = event(rename, null, null,
        json("{updatedFields: {'customer.name': 'Bo', cust_id: 10, address: {zip: '2000'}}, removedFields: ['customer'],"
            + " truncatedArrays: [{field: 'cust_id', newSize: 0}]}")).getDocument("updateDescription");
    assertThat(description).isEqualTo(json("{updatedFields: {client: 'Bo', customerId: 10, address: {postcode: '2000'}},"
        + " removedFields: ['customer', 'client'], truncatedArrays: [{field: 'customerId', newSize: 0}]}"));
  }

  @Test
  void transformsApplyInTheOrderListed() {
    EventTransforms chain = transforms("[{ type = rename-fields, renames { a = x } }, { type = include-fields, fields = [x] }]");
    assertThat(document(chain, json("{_id: 1, a: 1, b: 2}"))).isEqualTo(json("{_id: 1, x: 1}"));
    EventTransforms reversed = transforms("[{ type = include-fields, fields = [x] }, { type = rename-fields, renames { a = x } }]");
    assertThat(document(reversed, json("{_id: 1, a: 1, b: 2}"))).isEqualTo(json("{_id: 1}"));
  }

  @Test
  void aFilterKeepsEventsByNamespaceAndOperationType() {
    EventTransforms filter = transforms("[{ type = filter, include-namespaces = [\"shop\\\\..*\"], exclude-namespaces = [\".*_tmp\"],"
        + " operation-types = [insert, update] }]");
    assertThat(filter.keeps("shop.orders", "insert")).isTrue();
    assertThat(filter.keeps("shop.orders", "delete")).isFalse();
    assertThat(filter.keeps("shop.orders_tmp", "insert")).isFalse();
    assertThat(filter.keeps("other.orders", "update")).isFalse();
  }

  @Test
  void theFirstRouteThatMatchesTheWholeNamespaceGivesTheRouteWithItsGroups() {
    EventTransforms route = transforms("""
        [{ type = route, routes = [
          { namespaces = "shop\\\\.orders_(\\\\d+)", to = orders }
          { namespaces = "shop\\\\.(?<coll>[a-z]+)_(\\\\d+)", to = "${coll}-shard-$2" }
          { namespaces = "(shop)\\\\.(.*)", to = "$1-$2" }
          { namespaces = "shop\\\\..*", to = "never: the route before takes shop.*" }
          { namespaces = "crm\\\\..*", to = "crm-$0" }
        ] }]""");
    NamespaceRoutes routes = route.routes();
    assertThat(routes.key()).isEqualTo(AT + "[0]");
    assertThat(routes.routeOf("shop.orders_1")).isEqualTo("orders");
    assertThat(routes.routeOf("shop.orders_17")).isEqualTo("orders");
    assertThat(routes.routeOf("shop.orders_x")).isEqualTo("shop-orders_x");              // the first route matches a part only
    assertThat(routes.routeOf("shop.carts_2")).isEqualTo("carts-shard-2");               // a named group and $2
    assertThat(routes.routeOf("shop.customers")).isEqualTo("shop-customers");
    assertThat(routes.routeOf("crm.leads")).isEqualTo("crm-crm.leads");                  // $0: the whole namespace
    assertThat(routes.routeOf("other.things")).isEqualTo("other.things");                // no route, no default: the namespace
    assertThat(routes.routeOf("xshop.orders_1")).isEqualTo("xshop.orders_1");            // matched whole, not found inside
    assertThat(routes.hasDefault()).isFalse();
  }

  @Test
  void aNamespaceNoRouteMatchesGetsTheDefault() {
    NamespaceRoutes routes = transforms("""
        [{ type = route, routes = [{ namespaces = "shop\\\\.orders_\\\\d+", to = orders }], default = "unrouted" }]""").routes();
    assertThat(routes.routeOf("shop.orders_3")).isEqualTo("orders");
    assertThat(routes.routeOf("shop.orders")).isEqualTo("unrouted");
    assertThat(routes.hasDefault()).isTrue();
  }

  @Test
  void aRouteChangesNothingInTheEventAndOnlyOneRouteTransformIsRead() {
    EventTransforms route = transforms("""
        [{ type = exclude-fields, fields = [b] }, { type = route, routes = [{ namespaces = ".*", to = all }] }]""");
    assertThat(route.isEmpty()).isFalse();
    assertThat(route.keeps("shop.orders", "insert")).isTrue();
    assertThat(document(route, json("{_id: 1, a: 1, b: 2}"))).isEqualTo(json("{_id: 1, a: 1}"));
    assertThat(route.routes().routeOf("shop.orders")).isEqualTo("all");
    assertThat(route.withoutRoutes().routes().isEmpty()).isTrue();
    assertThat(transforms("[{ type = exclude-fields, fields = [b] }]").routes().isEmpty()).isTrue();
  }

  @Test
  void noTransformsIsEmpty() {
    assertThat(EventTransforms.parse(ConfigFactory.empty(), AT).isEmpty()).isTrue();
    assertThat(transforms("[]").isEmpty()).isTrue();
  }

  // ---- bad configurations -------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @CsvSource(delimiter = '|', textBlock = """
      [{ type = exclude-fields }]                                | missing config key tidemark.streams.orders.transforms[0].fields: expected a list of field paths
      [{ fields = [a] }]                                         | missing config key tidemark.streams.orders.transforms[0].type: expected one of exclude-fields, filter, include-fields, rename-fields
      [{ type = mask-fields, fields = [a] }]                     | invalid config key tidemark.streams.orders.transforms[0].type = "mask-fields": expected one of exclude-fields, filter, include-fields, rename-fields
      [{ type = route, topics { a = b } }]                       | unknown config key tidemark.streams.orders.transforms[0].topics: the route transform reads default, routes, type
      [{ type = route }]                                         | missing config key tidemark.streams.orders.transforms[0].routes: expected a list of routes
      [{ type = route, routes = [] }]                            | invalid config key tidemark.streams.orders.transforms[0].routes = []: expected a list of routes
      [{ type = route, routes = [{ namespaces = "(shop", to = a }] }] | invalid config key tidemark.streams.orders.transforms[0].routes[0].namespaces = "(shop": expected a regular expression over "<db>.<collection>"
      [{ type = route, routes = [{ namespaces = "shop\\\\.(.*)", to = "x-$2" }] }] | invalid config key tidemark.streams.orders.transforms[0].routes[0].to = "x-$2": expected group references up to $1: the regular expression "shop\\.(.*)" has 1 group, and $2 refers to a group it lacks
      [{ type = route, routes = [{ namespaces = "shop\\\\..*", to = "x-${shard}" }] }] | invalid config key tidemark.streams.orders.transforms[0].routes[0].to = "x-${shard}": expected a group the regular expression names
      [{ type = route, routes = [{ namespaces = "shop\\\\..*", to = "x-$" }] }] | invalid config key tidemark.streams.orders.transforms[0].routes[0].to = "x-$": expected a group reference after the
      [{ type = route, routes = [{ namespaces = "shop\\\\..*", to = "" }] }] | invalid config key tidemark.streams.orders.transforms[0].routes[0].to = "": expected a non-empty string
      [{ type = route, routes = [{ namespaces = "shop\\\\..*" }] }] | missing config key tidemark.streams.orders.transforms[0].routes[0].to: expected a route
      [{ type = route, routes = [{ namespaces = "shop\\\\..*", to = a, topic = b }] }] | unknown config key tidemark.streams.orders.transforms[0].routes[0].topic: a route reads namespaces, to
      [{ type = route, routes = [shop] }]                        | invalid config key tidemark.streams.orders.transforms[0].routes[0] = "shop": expected a route { namespaces
      [{ type = route, routes = [{ namespaces = "a", to = b }], default = "$0" }] | invalid config key tidemark.streams.orders.transforms[0].default = "$0": expected a route without group references
      [{ type = route, routes = [{ namespaces = "a", to = b }] }, { type = route, routes = [{ namespaces = "c", to = d }] }] | invalid config key tidemark.streams.orders.transforms[1].type = "route": expected one route transform per stream: its routes are tried in order, so list them all in tidemark.streams.orders.transforms[0].routes
      [{ type = exclude-fields, fields = [a], feilds = [b] }]   | unknown config key tidemark.streams.orders.transforms[0].feilds: the exclude-fields transform reads fields, type
      [{ type = exclude-fields, fields = a }]                    | invalid config key tidemark.streams.orders.transforms[0].fields = "a": expected a list of field paths
      [{ type = exclude-fields, fields = [] }]                   | invalid config key tidemark.streams.orders.transforms[0].fields = []: expected a list of field paths
      [{ type = include-fields, fields = ["a..b"] }]             | invalid config key tidemark.streams.orders.transforms[0].fields[0] = "a..b": expected a field path
      [{ type = include-fields, fields = ["$where"] }]           | invalid config key tidemark.streams.orders.transforms[0].fields[0] = "$where": expected a field path
      [{ type = include-fields, fields = [a, a] }]               | invalid config key tidemark.streams.orders.transforms[0].fields[1] = "a": expected each field once
      [{ type = exclude-fields, fields = [a, "_id"] }]           | invalid config key tidemark.streams.orders.transforms[0].fields[1] = "_id": expected a field other than _id
      [{ type = rename-fields }]                                 | missing config key tidemark.streams.orders.transforms[0].renames
      [{ type = rename-fields, renames = [a, b] }]               | invalid config key tidemark.streams.orders.transforms[0].renames = ["a","b"]: expected an object of renames
      [{ type = rename-fields, renames { a = 3 } }]              | invalid config key tidemark.streams.orders.transforms[0].renames.a = 3: expected the new name
      [{ type = rename-fields, renames { "_id" = id } }]         | invalid config key tidemark.streams.orders.transforms[0].renames._id = "id": expected a rename that leaves _id as it is
      [{ type = rename-fields, renames { a = a.b } }]            | invalid config key tidemark.streams.orders.transforms[0].renames.a = "a.b": expected a field outside "a"
      [{ type = rename-fields, renames { a.b = c.d } }]          | invalid config key tidemark.streams.orders.transforms[0].renames.a.b = "c.d": expected a new name in the same sub-document as "a.b" or at the top level
      [{ type = rename-fields, renames { a = b, b = c } }]       | invalid config key tidemark.streams.orders.transforms[0].renames.a = "b": expected renames of fields apart: "b" meets "b" of the rename of "b"
      [{ type = filter }]                                        | missing config key tidemark.streams.orders.transforms[0].include-namespaces: a filter needs include-namespaces, exclude-namespaces or operation-types
      [{ type = filter, include-namespaces = ["(shop"] }]        | invalid config key tidemark.streams.orders.transforms[0].include-namespaces[0] = "(shop": expected a regular expression
      [{ type = filter, operation-types = [upsert] }]            | invalid config key tidemark.streams.orders.transforms[0].operation-types[0] = "upsert": expected change event types
      [a]                                                        | invalid config key tidemark.streams.orders.transforms[0] = "a": expected an object { type = exclude-fields | filter | include-fields | rename-fields | route, ... }
      """)
  void aBadTransformIsOneLineNamingTheKey(String list, String message) {
    assertThatThrownBy(() -> transforms(list))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith(message.strip())
        .satisfies(error -> assertThat(error.getMessage()).doesNotContain("\n"));
  }

  @Test
  void transformsThatAreNotAListAreRefused() {
    assertThatThrownBy(() -> transforms("{ type = exclude-fields, fields = [a] }"))
        .hasMessageStartingWith("invalid config key " + AT + " = {");
  }

  // ---- properties of routes ------------------------------------------------------------------

  private static final List<String> ROUTE_PATTERNS = List.of(
      "shop\\.orders_(\\d+)", "(shop|crm)\\.(.*)", "(?<d>[a-z0-9]+)\\.(?<c>.*)", "shop\\..*", "[a-z]+\\.([a-z_]*)_(\\d)(\\d)?", "a|ab|.*\\.a_b");
  private static final List<String> NAMESPACES = List.of(
      "shop.orders_1", "shop.orders_12", "shop.customers", "crm.a_b", "crm.orders_1", "x1.a_b", "ab", "shop.", "other.c_3");
  private static final List<String> TO_PARTS = List.of(
      "x", "-", ".", "$0", "$1", "$2", "$3", "$12", "${d}", "${c}", "${zz}", "\\$", "\\\\", "$", "\\", "${", "$a", "${1a}");

  /**
   * Over generated route lists, namespaces and {@code to}s (seeded): a {@code to} is accepted
   * exactly when Java's {@link java.util.regex.Matcher#appendReplacement} can replace it in every
   * whole match; the route of a namespace is the first route (in order) whose expression matches it
   * whole, with its groups replaced, else the default, else the namespace; asking again gives the same.
   */
  @Test
  void theRouteIsTheFirstWholeMatchReplacedAndAToIsAcceptedExactlyWhenJavaCanReplaceIt() {
    Random random = new Random(20261130);
    int accepted = 0;
    for (int n = 0; n < CASES; n++) {
      List<NamespaceRoutes.Route> routes = new ArrayList<>();
      int count = 1 + random.nextInt(3);
      while (routes.size() < count) {
        java.util.regex.Pattern pattern = java.util.regex.Pattern.compile(ROUTE_PATTERNS.get(random.nextInt(ROUTE_PATTERNS.size())));
        StringBuilder to = new StringBuilder();
        for (int i = 0, parts = 1 + random.nextInt(3); i < parts; i++) to.append(TO_PARTS.get(random.nextInt(TO_PARTS.size())));
        boolean valid = NamespaceRoutes.replacementProblem(pattern, to.toString()) == null;
        for (String namespace : NAMESPACES) {
          java.util.regex.Matcher matcher = pattern.matcher(namespace);
          if (!matcher.matches()) continue;
          boolean replaced;
          try {
            matcher.appendReplacement(new StringBuilder(), to.toString());
            replaced = true;
          } catch (IllegalArgumentException | IndexOutOfBoundsException e) {
            replaced = false;
          }
          assertThat(replaced).as("\"%s\" in a match of %s of %s: accepted %s", to, pattern, namespace, valid).isEqualTo(valid);
        }
        if (valid) routes.add(new NamespaceRoutes.Route(pattern, to.toString()));
      }
      accepted += routes.size();
      String fallback = random.nextBoolean() ? "fallback" : null;
      NamespaceRoutes resolved = NamespaceRoutes.of("k", routes, fallback);
      for (String namespace : NAMESPACES) {
        String expected = fallback != null ? fallback : namespace;
        for (NamespaceRoutes.Route route : routes) {
          // The reference: an anchored find over the whole namespace (the groups keep their numbers).
          java.util.regex.Pattern whole = java.util.regex.Pattern.compile("^(?:" + route.namespaces().pattern() + ")$");
          if (whole.matcher(namespace).find()) {
            expected = whole.matcher(namespace).replaceFirst(route.to());
            break;
          }
        }
        assertThat(resolved.routeOf(namespace)).as("%s by %s", namespace, routes).isEqualTo(expected);
        assertThat(resolved.routeOf(namespace)).isEqualTo(expected);
      }
    }
    assertThat(accepted).as("routes accepted").isGreaterThan(CASES);
  }

  // ---- properties over generated documents ----------------------------------------------------

  private static final class Generator {
    private final Random random;

    Generator(long seed) {
      this.random = new Random(seed);
    }

    String name() {
      return NAMES.get(random.nextInt(NAMES.size()));
    }

    String path(int maxDepth) {
      StringBuilder path = new StringBuilder(name());
      int depth = 1 + random.nextInt(maxDepth);
      for (int i = 1; i < depth; i++) path.append('.').append(name());
      return path.toString();
    }

    BsonValue value(int depth) {
      return switch (random.nextInt(depth < 3 ? 6 : 4)) {
        case 0 -> new BsonInt32(random.nextInt(10));
        case 1 -> new BsonString("s" + random.nextInt(10));
        case 2 -> new BsonArray(List.of(new BsonInt32(random.nextInt(3)), new BsonInt32(random.nextInt(3))));
        case 3 -> BsonNull.VALUE;
        default -> document(depth + 1);
      };
    }

    BsonDocument document(int depth) {
      BsonDocument document = new BsonDocument();
      int fields = random.nextInt(4);
      for (int i = 0; i < fields; i++) document.put(name(), value(depth));
      return document;
    }

    BsonDocument top() {
      BsonDocument document = new BsonDocument("_id", new BsonInt32(random.nextInt(100)));
      document.putAll(document(1));
      return document;
    }

    List<String> paths() {
      List<String> paths = new ArrayList<>();
      int count = 1 + random.nextInt(3);
      while (paths.size() < count) {
        String path = path(3);
        if (!paths.contains(path)) paths.add(path);
      }
      return paths;
    }

    /**
     * Renames the configuration accepts: paths under different top-level fields, each to a new name
     * (r0, s1, ...: names no generated document has) beside it or at the top level.
     */
    String renames() {
      StringBuilder renames = new StringBuilder();
      List<String> firsts = new ArrayList<>();
      int count = 1 + random.nextInt(2);
      for (int i = 0; i < count; i++) {
        String from = path(3);
        String first = from.split("\\.")[0];
        if (firsts.contains(first)) continue;
        firsts.add(first);
        String newName = List.of("r", "s", "t").get(random.nextInt(3)) + i;
        int dot = from.lastIndexOf('.');
        String to = dot > 0 && random.nextBoolean() ? from.substring(0, dot + 1) + newName : newName;
        renames.append('"').append(from).append("\" = \"").append(to).append("\", ");
      }
      return renames.toString();
    }

    /**
     * An update of {@code before} as MongoDB describes it: a few fields set (at paths whose
     * parents are sub-documents or missing) and unset (existing ones), no two paths inside one another.
     */
    Update update(BsonDocument before) {
      BsonDocument after = before.clone();
      BsonDocument updated = new BsonDocument();
      BsonArray removed = new BsonArray();
      List<String> touched = new ArrayList<>(List.of("_id"));
      int operations = 1 + random.nextInt(3);
      for (int i = 0; i < operations; i++) {
        String path = path(3);
        if (touched.stream().anyMatch(other -> FieldPaths.within(path, other) || FieldPaths.within(other, path))) continue;
        if (random.nextInt(3) == 0) {
          if (FieldPaths.get(before, path) == null) continue;
          FieldPaths.remove(after, path);
          removed.add(new BsonString(path));
        } else {
          if (!settable(after, path)) continue;
          BsonValue value = value(path.split("\\.").length);
          FieldPaths.set(after, path, value);
          updated.put(path, value);
        }
        touched.add(path);
      }
      return new Update(before, after, new BsonDocument("updatedFields", updated).append("removedFields", removed)
          .append("truncatedArrays", new BsonArray()));
    }

    private static boolean settable(BsonDocument document, String path) {
      BsonValue value = document;
      for (String part : path.substring(0, Math.max(0, path.lastIndexOf('.'))).split("\\.")) {
        if (part.isEmpty()) break;
        if (!(value instanceof BsonDocument nested)) return false;
        if (!nested.containsKey(part)) return true;
        value = nested.get(part);
      }
      return value instanceof BsonDocument;
    }
  }

  private record Update(BsonDocument before, BsonDocument after, BsonDocument description) {}

  /** An update description applied to a document: the updated fields set, then the removed fields unset. */
  private static BsonDocument applied(BsonDocument document, BsonDocument description) {
    BsonDocument result = document.clone();
    for (Map.Entry<String, BsonValue> field : description.getDocument("updatedFields").entrySet()) {
      FieldPaths.set(result, field.getKey(), field.getValue());
    }
    for (BsonValue removed : description.getArray("removedFields")) FieldPaths.remove(result, removed.asString().getValue());
    return result;
  }

  /** The document without its empty sub-documents (recursively: one that holds only empty ones is empty). */
  private static BsonDocument withoutEmpty(BsonDocument document) {
    BsonDocument kept = new BsonDocument();
    for (Map.Entry<String, BsonValue> field : document.entrySet()) {
      BsonValue value = field.getValue() instanceof BsonDocument nested ? withoutEmpty(nested) : field.getValue();
      if (!(value instanceof BsonDocument nested && nested.isEmpty())) kept.put(field.getKey(), value);
    }
    return kept;
  }

  /** Deep merge: the fields of both, sub-documents merged; for anything else the first one's. */
  private static BsonDocument merged(BsonDocument first, BsonDocument second) {
    BsonDocument merged = first.clone();
    for (Map.Entry<String, BsonValue> field : second.entrySet()) {
      BsonValue mine = merged.get(field.getKey());
      if (mine instanceof BsonDocument a && field.getValue() instanceof BsonDocument b) {
        merged.put(field.getKey(), merged(a, b));
      } else if (mine == null) {
        merged.put(field.getKey(), field.getValue());
      }
    }
    return merged;
  }

  private static String list(List<String> paths) {
    return paths.stream().map(path -> "\"" + path + "\"").toList().toString();
  }

  @Test
  void includeAndExcludeCommuteAreIdempotentAndTogetherSplitADocument() {
    for (int seed = 0; seed < CASES; seed++) {
      Generator generate = new Generator(seed);
      BsonDocument document = generate.top();
      List<String> included = generate.paths();
      List<String> excluded = new ArrayList<>(generate.paths());
      EventTransforms include = transforms("[{ type = include-fields, fields = " + list(included) + " }]");
      EventTransforms exclude = transforms("[{ type = exclude-fields, fields = " + list(excluded) + " }]");
      Function<BsonDocument, BsonDocument> in = d -> document(include, d);
      Function<BsonDocument, BsonDocument> out = d -> document(exclude, d);
      String what = "seed " + seed + ": " + document.toJson() + " include " + included + " exclude " + excluded;

      assertThat(out.apply(in.apply(document))).as("commute: %s", what).isEqualTo(in.apply(out.apply(document)));
      assertThat(in.apply(in.apply(document))).as("include twice: %s", what).isEqualTo(in.apply(document));
      assertThat(out.apply(out.apply(document))).as("exclude twice: %s", what).isEqualTo(out.apply(document));

      EventTransforms excludeIncluded = transforms("[{ type = exclude-fields, fields = " + list(included) + " }]");
      assertThat(merged(in.apply(document), document(excludeIncluded, document)))
          .as("what include keeps and exclude of the same fields keeps make the document: %s", what).isEqualTo(document);
    }
  }

  @Test
  void renamesAreIdempotentAndLoseNothing() {
    for (int seed = 0; seed < CASES; seed++) {
      Generator generate = new Generator(seed);
      BsonDocument document = generate.top();
      EventTransforms rename = transforms("[{ type = rename-fields, renames { " + generate.renames() + " } }]");
      BsonDocument once = document(rename, document);
      String what = "seed " + seed + ": " + document.toJson() + " renamed " + once.toJson();
      assertThat(document(rename, once)).as("rename twice: %s", what).isEqualTo(once);
      assertThat(leaves(once)).as("the same values: %s", what).containsExactlyInAnyOrderElementsOf(leaves(document));
    }
  }

  /** Every value that is not a non-empty sub-document, as it appears. */
  private static List<BsonValue> leaves(BsonDocument document) {
    List<BsonValue> leaves = new ArrayList<>();
    for (BsonValue value : document.values()) {
      if (value instanceof BsonDocument nested && !nested.isEmpty()) {
        leaves.addAll(leaves(nested));
      } else if (!(value instanceof BsonDocument)) {
        leaves.add(value);
      }
    }
    return leaves;
  }

  @Test
  void theTransformedUpdateDescriptionTurnsTheTransformedBeforeIntoTheTransformedAfter() {
    int updates = 0;
    for (int seed = 0; seed < CASES; seed++) {
      Generator generate = new Generator(seed);
      Update update = generate.update(generate.top());
      if (update.description().getDocument("updatedFields").isEmpty() && update.description().getArray("removedFields").isEmpty()) continue;
      updates++;
      assertThat(applied(update.before(), update.description())).as("the generator's own update").isEqualTo(update.after());
      List<EventTransforms> all = List.of(
          transforms("[{ type = include-fields, fields = " + list(generate.paths()) + " }]"),
          transforms("[{ type = exclude-fields, fields = " + list(generate.paths()) + " }]"),
          transforms("[{ type = rename-fields, renames { " + generate.renames() + " } }]"));
      for (EventTransforms transform : all) {
        BsonDocument event = event(transform, update.before(), update.after(), update.description());
        String what = "seed " + seed + ": " + update + " gave " + event.toJson();
        // Up to empty sub-documents: include keeps, as MongoDB's projection, an empty sub-document on
        // the way to an included field; an update that creates one through a field not included is
        // described without it.
        assertThat(withoutEmpty(applied(event.getDocument("fullDocumentBeforeChange"), event.getDocument("updateDescription"))))
            .as(what).isEqualTo(withoutEmpty(event.getDocument("fullDocument")));
      }
    }
    assertThat(updates).as("updates generated").isGreaterThan(CASES / 2);
  }
}
