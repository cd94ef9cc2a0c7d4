package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import de.bwaldvogel.mongo.backend.Missing;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Which keys a query's _id conditions allow, and the order keys are stored in. */
class KeyRangeTest {
  private static final Function<Object, Object> SAME = value -> value;

  private static KeyRange range(Document query) {
    return KeyRange.of(query, "_id", SAME);
  }

  private static Document id(Object condition) {
    return new Document("_id", condition);
  }

  @Test
  void keysAreOrderedAsMongoDbOrdersIdValues() {
    List<Object> keys = new ArrayList<>(List.of("b", 2L, new ObjectId(), 1.5, Missing.getInstance(), "a", 1, new Document("k", 1), true));
    keys.sort(DocumentKeyType.INSTANCE::compare);
    assertThat(keys.subList(0, 4)).containsExactly(Missing.getInstance(), 1, 1.5, 2L);
    assertThat(keys.subList(4, 6)).containsExactly("a", "b");
    assertThat(keys.get(6)).isInstanceOf(Document.class);
    assertThat(keys.get(7)).isInstanceOf(ObjectId.class);
    assertThat(keys.get(8)).isEqualTo(true);
    assertThat(DocumentKeyType.INSTANCE.compare(1, 1.0)).as("one _id, whatever the number type").isZero();
  }

  @Test
  void keysSurviveTheirEncoding() {
    for (Object key : List.of(42, 42L, 4.2, "text", new ObjectId(), new Document("a", 1).append("b", "c"), Missing.getInstance(), false,
        java.util.UUID.randomUUID(), java.time.Instant.ofEpochMilli(1_700_000_000_000L))) {
      assertThat(DocumentKeyType.value(DocumentKeyType.bytes(key))).isEqualTo(key);
    }
  }

  @Test
  void equalityAndInArePoints() {
    assertThat(range(id(5)).points).containsExactly(5);
    assertThat(range(id(new Document("$eq", "x"))).points).containsExactly("x");
    assertThat(range(id(new Document("$in", List.of(3, 1, 2)))).points).containsExactly(1, 2, 3);
    assertThat(range(id(null)).points).containsExactly(Missing.getInstance());
    assertThat(range(id(new Document("a", 1))).points).containsExactly(new Document("a", 1));
  }

  @Test
  void comparisonsAreIntervalsWithinTheirType() {
    KeyRange above = range(id(new Document("$gt", 10)));
    assertThat(above.position(10)).isEqualTo(-1);
    assertThat(above.position(10.5)).isZero();
    assertThat(above.position(9L)).isEqualTo(-1);
    assertThat(above.position("a")).as("a string is after every number: past the range").isEqualTo(1);
    assertThat(above.position(Missing.getInstance())).isEqualTo(-1);

    KeyRange below = range(id(new Document("$lte", "m")));
    assertThat(below.position(5)).as("a number is before every string: before the range").isEqualTo(-1);
    assertThat(below.position("m")).isZero();
    assertThat(below.position("n")).isEqualTo(1);
    assertThat(below.scanStart()).isEqualTo("");
  }

  @Test
  void conditionsIntersect() {
    KeyRange both = range(new Document("_id", new Document("$gte", 5).append("$lt", 8)));
    assertThat(both.lower).isEqualTo(5);
    assertThat(both.upper).isEqualTo(8);
    assertThat(both.position(8)).isEqualTo(1);

    KeyRange viaAnd = range(new Document("$and", List.of(id(new Document("$gt", 1)), id(new Document("$in", List.of(0, 1, 2, 3))))));
    assertThat(viaAnd.points).containsExactly(2, 3);

    assertThat(range(id(new Document("$gt", 5).append("$lt", "z"))).isEmpty()).as("no value is both a number and a string").isTrue();
    assertThat(range(id(new Document("$gt", 5).append("$lt", 5))).isEmpty()).isTrue();
    assertThat(range(id(new Document("$gte", 5).append("$lte", 5))).isEmpty()).isFalse();
  }

  @Test
  void whatCannotNarrowLeavesTheRangeOpen() {
    assertThat(range(new Document("status", "paid"))).isSameAs(KeyRange.ALL);
    assertThat(range(id(new Document("$ne", 5)))).isSameAs(KeyRange.ALL);
    assertThat(range(id(new Document("$regex", "^a")))).isSameAs(KeyRange.ALL);
    assertThat(range(new Document("$or", List.of(id(1), id(2))))).isSameAs(KeyRange.ALL);
    assertThat(range(id(new Document("$gt", de.bwaldvogel.mongo.bson.MinKey.getInstance())))).isSameAs(KeyRange.ALL);
  }

  @Test
  void theOplogsTimestampsAreKeys() {
    KeyRange since = KeyRange.of(new Document("ts", new Document("$gte", new de.bwaldvogel.mongo.bson.BsonTimestamp(7L))), "ts",
        value -> value instanceof de.bwaldvogel.mongo.bson.BsonTimestamp ts ? ts.getValue() : null);
    assertThat(since.lower).isEqualTo(7L);
    assertThat(since.lowerInclusive).isTrue();
  }
}
