package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.bson.BsonInt32;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;

/**
 * The watermark reconciliation as a property: a collection written at random while a stream
 * delivers its events late and an incremental snapshot reads it chunk by chunk, every step
 * interleaved at random. What comes out (events, and the rows the chunk window keeps, before the
 * first element past the high watermark) never takes a key back to an older version, and leaves
 * every key at its newest version (or deleted).
 */
class ChunkWindowTest {
  private static final int KEYS = 30;

  /** A write: the key's version is the time it was written at (a delete: -time). */
  private record Write(int key, long time, boolean delete) {}

  /** The target: each key's version, checked on every write. */
  private static final class Target {
    final Map<Integer, Long> versions = new HashMap<>();
    final List<String> regressions = new ArrayList<>();

    void apply(int key, long version, boolean deleted, String what) {
      Long before = versions.get(key);
      if (before != null && Math.abs(version) < Math.abs(before)) {
        regressions.add(what + " took key " + key + " from version " + before + " back to " + version);
      }
      versions.put(key, deleted ? -version : version);
    }
  }

  @Test
  void theOutputNeverRegressesAKeyAndEndsAtTheNewestVersion() {
    for (long seed = 1; seed <= 2_000; seed++) {
      check(seed);
    }
  }

  private static void check(long seed) {
    Random random = new Random(seed);
    int chunkSize = 1 + random.nextInt(12);
    // The collection: key -> version (absent: deleted or never written); written before the stream opens.
    TreeMap<Integer, Long> collection = new TreeMap<>();
    long clock = 0;
    for (int key = 0; key < KEYS; key++) {
      if (random.nextInt(4) > 0) collection.put(key, ++clock);
    }
    List<Write> oplog = new ArrayList<>(); // the stream's events, from its start on
    int delivered = 0;
    Target target = new Target();
    Integer after = -1; // the chunks' progress: the last _id done
    ChunkWindow chunk = null;
    int phase = 0; // 0 none, 1 opened (events recorded), 2 low taken, 3 read (rows held)
    long low = 0;
    List<Document> read = null;
    boolean done = false;
    int steps = 0;
    while (!done || delivered < oplog.size()) {
      if (++steps > 100_000) throw new AssertionError("seed " + seed + ": no progress");
      int choice = random.nextInt(10);
      if (choice < 3 && oplog.size() < 200) {
        // A write.
        int key = random.nextInt(KEYS);
        long time = ++clock;
        boolean delete = collection.containsKey(key) && random.nextInt(5) == 0;
        if (delete) collection.remove(key);
        else collection.put(key, time);
        oplog.add(new Write(key, time, delete));
      } else if (choice < 7 && delivered < oplog.size()) {
        // The stream delivers its next event: the rows go just before the first one past H.
        Write event = oplog.get(delivered++);
        if (chunk != null && chunk.passedBy(new BsonTimestamp(event.time))) {
          after = emit(chunk, target, after);
          chunk = null;
          phase = 0;
        }
        if (chunk != null) chunk.onEvent(new BsonInt32(event.key), new BsonTimestamp(event.time));
        target.apply(event.key, event.time, event.delete, "event at " + event.time);
      } else if (choice < 9 && !done) {
        // The snapshot's next step: open, take L, read, take H.
        if (phase == 0) {
          chunk = new ChunkWindow();
          phase = 1;
        } else if (phase == 1) {
          low = clock;
          phase = 2;
        } else if (phase == 2) {
          read = new ArrayList<>();
          for (Map.Entry<Integer, Long> row : collection.tailMap(after, false).entrySet()) {
            if (read.size() == chunkSize) break;
            read.add(new Document("_id", row.getKey()).append("v", row.getValue()));
          }
          phase = 3;
          if (random.nextBoolean()) { // H taken at once, or after more writes
            chunk.read(new BsonTimestamp(low), read, new BsonTimestamp(clock));
            phase = 4;
          }
        } else if (phase == 3) {
          chunk.read(new BsonTimestamp(low), read, new BsonTimestamp(clock));
          phase = 4;
        } else if (phase == 4 && delivered == oplog.size() && chunk.reachedBy(new BsonTimestamp(clock))) {
          // A heartbeat at the server's time, H or later: the stream is quiet and has delivered everything up to now.
          if (random.nextBoolean()) {
            after = emit(chunk, target, after);
            if (read.size() < chunkSize) done = true;
            chunk = null;
            phase = 0;
          }
        }
      } else if (chunk != null && phase == 4 && chunk.passedBy(new BsonTimestamp(clock + 1)) && delivered == oplog.size() && random.nextInt(3) == 0) {
        clock++; // a heartbeat at a new time past H
        after = emit(chunk, target, after);
        if (read.size() < chunkSize) done = true;
        chunk = null;
        phase = 0;
      }
      if (phase == 0 && chunk == null && read != null && read.size() < chunkSize && !done) {
        done = true;
      }
    }
    assertThat(target.regressions).as("seed %d: regressions", seed).isEmpty();
    for (int key = 0; key < KEYS; key++) {
      Long version = target.versions.get(key);
      if (collection.containsKey(key)) {
        assertThat(version).as("seed %d: key %d at its newest version", seed, key).isEqualTo(collection.get(key));
      } else {
        assertThat(version == null || version < 0).as("seed %d: key %d deleted (target %s)", seed, key, version).isTrue();
      }
    }
  }

  /** Hands on the rows the chunk keeps; returns the chunk's progress (its last row read). */
  private static Integer emit(ChunkWindow chunk, Target target, Integer after) {
    for (Document row : chunk.remaining()) {
      target.apply(row.getInteger("_id"), row.getLong("v"), false, "row read in [" + chunk.low() + ", " + chunk.high() + "]");
    }
    List<Document> rows = chunk.rows();
    return rows.isEmpty() ? after : rows.get(rows.size() - 1).getInteger("_id");
  }
}
