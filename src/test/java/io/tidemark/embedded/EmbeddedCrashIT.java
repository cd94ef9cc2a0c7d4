package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import com.mongodb.client.MongoCollection;
import com.mongodb.client.model.DeleteOneModel;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndReplaceOptions;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.InsertOneModel;
import com.mongodb.client.model.ReplaceOneModel;
import com.mongodb.client.model.ReplaceOptions;
import com.mongodb.client.model.UpdateOneModel;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.client.model.WriteModel;
import io.tidemark.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The embedded server in its own process ({@code mongo} command), with concurrent writers of
 * every kind (insert, insertMany, update, replace, delete, findOneAndUpdate / Replace / Delete,
 * bulk writes, upserts through update, replace and findAndModify), killed with SIGKILL again and
 * again on the same data directory. After each restart, for every document key:
 *
 * <ul>
 *   <li>every acknowledged write is there: its oplog entry, in order, and the document state
 *       it left (unless a later write changed it);
 *   <li>a write that was in flight at the kill is there whole (entry and document) or not at all
 *       (neither): never a document without its entry or an entry without its document;
 *   <li>nothing else is: no entry and no document that no write made.
 * </ul>
 *
 * Kills: {@code -Dtidemark.crash.kills=N} (default 6; a stress run does hundreds).
 */
class EmbeddedCrashIT {
  private static final Pattern LISTENING = Pattern.compile("MongoDB:\\s+(mongodb://\\S+)");
  private static final int WRITERS = 4;
  private static final int KEYS_PER_WRITER = 12;
  private static final String NAMESPACE = "crash.docs";

  /** What the oplog holds of one write: its kind (i, u, r, d) and the writer's marker (none for a delete). */
  record Entry(char kind, String marker) {}

  /** A write sent to the server: the entry it makes, and the document it leaves (null: none). */
  record Write(Entry entry, Document after) {}

  /** Per key: the writes the oplog must hold, and the document that must be there. */
  static final class Expected {
    final List<Entry> history = new ArrayList<>();
    Document state;
    Write inFlight;
  }

  private final Map<String, Expected> keys = new LinkedHashMap<>();

  @Test
  void killedMidWriteTheServerKeepsEveryAcknowledgedWriteAndNoHalfOfAnother(@TempDir Path dir) throws Exception {
    int kills = Integer.getInteger("tidemark.crash.kills", 6);
    Path data = dir.resolve("data");
    Path config = dir.resolve("crash.conf");
    Files.writeString(config, "tidemark.embedded.oplog-max-entries = 1000000000\ntidemark.embedded.oplog-max-bytes = 0\n");
    for (int w = 0; w < WRITERS; w++) {
      for (int k = 0; k < KEYS_PER_WRITER; k++) keys.put("w" + w + "-" + k, new Expected());
    }
    long seed = Long.getLong("tidemark.crash.seed", System.nanoTime());
    Random random = new Random(seed);
    System.out.println("embedded crash test: seed " + seed + " (-Dtidemark.crash.seed to repeat the same choices)");
    long acknowledged = 0;
    long inFlightApplied = 0;
    long inFlightLost = 0;
    int recoveredFromScan = 0;
    for (int round = 0; round <= kills; round++) {
      Path log = dir.resolve("mongo-" + round + ".log");
      Process server = start(data, config, log);
      try {
        String uri = awaitListening(server, log);
        if (read(log).contains("recovered: at commit")) recoveredFromScan++;
        try (MongoClient client = MongoClients.create(uri + "/?retryWrites=false&retryReads=false&serverSelectionTimeoutMS=5000"
            + "&connectTimeoutMS=5000&socketTimeoutMS=20000")) {
          long[] resolved = verify(client.getDatabase("crash").getCollection("docs"), client.getDatabase("local").getCollection("oplog.rs"),
              round, log);
          inFlightApplied += resolved[0];
          inFlightLost += resolved[1];
          if (round == kills) break;
          acknowledged += writeUntilKilled(client, server, random, round);
        }
      } finally {
        server.destroyForcibly();
        server.waitFor(30, TimeUnit.SECONDS);
      }
    }
    System.out.printf("embedded crash test: %d kills, %,d acknowledged writes all kept, %d writes in flight at a kill (%d kept whole,"
            + " %d not at all), no half writes; %d reopenings needed the scan of the whole file to reach the newest commit%n",
        kills, acknowledged, inFlightApplied + inFlightLost, inFlightApplied, inFlightLost, recoveredFromScan);
    assertThat(acknowledged).as("acknowledged writes").isGreaterThan(kills * 10L);
  }

  private static Process start(Path data, Path config, Path log) throws IOException {
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx256m", "-XX:+UseSerialGC");
    command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.tidemark.cli.Main", "mongo",
        "--data", data.toString(), "--port", "0", "--h2-port", "0", "--config", config.toString()));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static String awaitListening(Process server, Path log) {
    Await.until(Duration.ofSeconds(90), () -> LISTENING.matcher(read(log)).find() || !server.isAlive(),
        () -> "the mongo command listening; log:\n" + read(log));
    Matcher matcher = LISTENING.matcher(read(log));
    assertThat(matcher.find()).as("the mongo command started; log:\n%s", read(log)).isTrue();
    return matcher.group(1);
  }

  /** Runs the writers until a random number of writes is acknowledged, kills the server under them; returns the writes acknowledged. */
  private long writeUntilKilled(MongoClient client, Process server, Random random, int round) throws Exception {
    MongoCollection<Document> docs = client.getDatabase("crash").getCollection("docs");
    AtomicLong acknowledged = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean killing = new AtomicBoolean();
    List<Thread> writers = new ArrayList<>();
    List<Throwable> unexpected = new ArrayList<>();
    for (int w = 0; w < WRITERS; w++) {
      int writer = w;
      long seed = random.nextLong();
      Thread thread = new Thread(() -> {
        Random choice = new Random(seed);
        long sequence = 0;
        while (!stop.get()) {
          try {
            write(docs, writer, choice, round, sequence++);
            acknowledged.incrementAndGet();
          } catch (com.mongodb.MongoException e) {
            if (!killing.get()) {
              synchronized (unexpected) {
                unexpected.add(e);
              }
            }
            return; // the server is gone: what was in flight stays in flight
          }
        }
      }, "crash-writer-" + w);
      writers.add(thread);
      thread.start();
    }
    long target = 20 + random.nextInt(400);
    try {
      Await.until(Duration.ofSeconds(120), () -> acknowledged.get() >= target || !unexpected.isEmpty(),
          () -> target + " writes acknowledged");
    } finally {
      killing.set(true);
      server.destroyForcibly(); // SIGKILL, with the writers in full flight
      server.waitFor(30, TimeUnit.SECONDS);
      stop.set(true);
      for (Thread thread : writers) thread.join(60_000);
    }
    assertThat(unexpected).as("writes that failed while the server was alive").isEmpty();
    return acknowledged.get();
  }

  /** One write of a random kind on this writer's keys: recorded in flight first, acknowledged when the call returns. */
  private void write(MongoCollection<Document> docs, int writer, Random choice, int round, long sequence) {
    String key = "w" + writer + "-" + choice.nextInt(KEYS_PER_WRITER);
    String marker = "r" + round + ".w" + writer + "." + sequence;
    Expected expected = keys.get(key);
    boolean present = expected.state != null;
    int kind = choice.nextInt(present ? 7 : 6);
    if (!present) {
      Document inserted = new Document("_id", key).append("v", marker).append("n", 0);
      switch (kind) {
        case 0 -> run(expected, new Write(new Entry('i', marker), inserted), () -> docs.insertOne(inserted));
        case 1 -> run(expected, new Write(new Entry('i', marker), inserted),
            () -> docs.updateOne(Filters.eq("_id", key), Updates.combine(Updates.set("v", marker), Updates.set("n", 0)),
                new UpdateOptions().upsert(true)));
        case 2 -> run(expected, new Write(new Entry('i', marker), inserted),
            () -> docs.replaceOne(Filters.eq("_id", key), new Document("v", marker).append("n", 0), new ReplaceOptions().upsert(true)));
        case 3 -> run(expected, new Write(new Entry('i', marker), inserted),
            () -> docs.findOneAndUpdate(Filters.eq("_id", key), Updates.combine(Updates.set("v", marker), Updates.set("n", 0)),
                new FindOneAndUpdateOptions().upsert(true)));
        case 4 -> run(expected, new Write(new Entry('i', marker), inserted),
            () -> docs.findOneAndReplace(Filters.eq("_id", key), new Document("v", marker).append("n", 0),
                new FindOneAndReplaceOptions().upsert(true)));
        default -> bulk(docs, writer, choice, marker);
      }
      return;
    }
    int n = expected.state.getInteger("n");
    Document updated = new Document("_id", key).append("v", marker).append("n", n + 1);
    Document replaced = new Document("_id", key).append("v", marker).append("n", 1_000 + (int) (sequence % 1_000));
    switch (kind) {
      case 0 -> run(expected, new Write(new Entry('u', marker), updated),
          () -> docs.updateOne(Filters.eq("_id", key), Updates.combine(Updates.set("v", marker), Updates.inc("n", 1))));
      case 1 -> run(expected, new Write(new Entry('r', marker), replaced),
          () -> docs.replaceOne(Filters.eq("_id", key), new Document("v", marker).append("n", replaced.getInteger("n"))));
      case 2 -> run(expected, new Write(new Entry('d', null), null), () -> docs.deleteOne(Filters.eq("_id", key)));
      case 3 -> run(expected, new Write(new Entry('u', marker), updated),
          () -> docs.findOneAndUpdate(Filters.eq("_id", key), Updates.combine(Updates.set("v", marker), Updates.inc("n", 1))));
      case 4 -> run(expected, new Write(new Entry('r', marker), replaced),
          () -> docs.findOneAndReplace(Filters.eq("_id", key), new Document("v", marker).append("n", replaced.getInteger("n"))));
      case 5 -> run(expected, new Write(new Entry('d', null), null), () -> docs.findOneAndDelete(Filters.eq("_id", key)));
      default -> bulk(docs, writer, choice, marker);
    }
  }

  /** A bulk write over up to four keys of this writer, each write of the kind its key allows; each key's write is in flight on its own. */
  private void bulk(MongoCollection<Document> docs, int writer, Random choice, String marker) {
    List<WriteModel<Document>> models = new ArrayList<>();
    Map<Expected, Write> writes = new LinkedHashMap<>();
    List<Integer> picked = new ArrayList<>();
    int size = 1 + choice.nextInt(4);
    for (int i = 0; i < size; i++) {
      int k = choice.nextInt(KEYS_PER_WRITER);
      if (picked.contains(k)) continue;
      picked.add(k);
      String key = "w" + writer + "-" + k;
      String keyMarker = marker + "." + i;
      Expected expected = keys.get(key);
      if (expected.state == null) {
        Document inserted = new Document("_id", key).append("v", keyMarker).append("n", 0);
        models.add(new InsertOneModel<>(inserted));
        writes.put(expected, new Write(new Entry('i', keyMarker), inserted));
      } else {
        switch (choice.nextInt(3)) {
          case 0 -> {
            models.add(new UpdateOneModel<>(Filters.eq("_id", key), Updates.combine(Updates.set("v", keyMarker), Updates.inc("n", 1))));
            writes.put(expected, new Write(new Entry('u', keyMarker),
                new Document("_id", key).append("v", keyMarker).append("n", expected.state.getInteger("n") + 1)));
          }
          case 1 -> {
            models.add(new ReplaceOneModel<>(Filters.eq("_id", key), new Document("v", keyMarker).append("n", 7)));
            writes.put(expected, new Write(new Entry('r', keyMarker), new Document("_id", key).append("v", keyMarker).append("n", 7)));
          }
          default -> {
            models.add(new DeleteOneModel<>(Filters.eq("_id", key)));
            writes.put(expected, new Write(new Entry('d', null), null));
          }
        }
      }
    }
    writes.forEach((expected, write) -> expected.inFlight = write);
    docs.bulkWrite(models);
    writes.forEach(EmbeddedCrashIT::acknowledged);
  }

  private static void run(Expected expected, Write write, Runnable call) {
    expected.inFlight = write;
    call.run();
    acknowledged(expected, write);
  }

  private static void acknowledged(Expected expected, Write write) {
    expected.history.add(write.entry());
    expected.state = write.after();
    expected.inFlight = null;
  }

  /**
   * Checks the reopened data against what was acknowledged and what was in flight, and takes what
   * it finds as the new expectation. Returns {writes in flight found whole, writes in flight found not at all}.
   */
  private long[] verify(MongoCollection<Document> docs, MongoCollection<Document> oplog, int round, Path log) {
    Map<String, Document> found = new HashMap<>();
    docs.find().forEach(document -> found.put(document.getString("_id"), document));
    Map<String, List<Entry>> entries = new HashMap<>();
    oplog.find(Filters.eq("ns", NAMESPACE)).sort(new Document("$natural", 1)).forEach(entry -> {
      String op = entry.getString("op");
      Document o = (Document) entry.get("o");
      Entry described;
      String key;
      switch (op) {
        case "i" -> {
          key = o.getString("_id");
          described = new Entry('i', o.getString("v"));
        }
        case "d" -> {
          key = o.getString("_id");
          described = new Entry('d', null);
        }
        case "u" -> {
          key = ((Document) entry.get("o2")).getString("_id");
          boolean replacement = o.keySet().stream().noneMatch(field -> field.startsWith("$"));
          described = replacement ? new Entry('r', o.getString("v")) : new Entry('u', ((Document) o.get("$set")).getString("v"));
        }
        default -> throw new AssertionError("unexpected oplog entry " + entry.toJson());
      }
      entries.computeIfAbsent(key, k -> new ArrayList<>()).add(described);
    });
    assertThat(keys.keySet()).as("round %d: documents of unknown keys", round).containsAll(found.keySet());
    assertThat(keys.keySet()).as("round %d: oplog entries of unknown keys", round).containsAll(entries.keySet());
    long whole = 0;
    long none = 0;
    for (Map.Entry<String, Expected> item : keys.entrySet()) {
      String key = item.getKey();
      Expected expected = item.getValue();
      List<Entry> history = entries.getOrDefault(key, List.of());
      Document state = found.get(key);
      String context = "round " + round + ", key " + key + ": acknowledged " + expected.history + ", in flight " + expected.inFlight
          + ", oplog " + history + ", document " + state + "\nserver log:\n" + tail(read(log));
      Write inFlight = expected.inFlight;
      if (history.equals(expected.history)) {
        assertThat(state).as("the document as the acknowledged writes left it (no half of the write in flight): " + context)
            .isEqualTo(expected.state);
        if (inFlight != null) none++;
      } else {
        assertThat(inFlight).as("the oplog holds exactly the acknowledged writes (none lost, none invented): " + context).isNotNull();
        List<Entry> withInFlight = new ArrayList<>(expected.history);
        withInFlight.add(inFlight.entry());
        assertThat(history).as("the oplog holds the acknowledged writes and at most the one in flight: " + context)
            .isEqualTo(withInFlight);
        assertThat(state).as("the write in flight, whole (its entry and its document): " + context).isEqualTo(inFlight.after());
        expected.history.add(inFlight.entry());
        expected.state = state;
        whole++;
      }
      expected.inFlight = null;
      assertThat(Objects.equals(expected.state, state)).isTrue();
    }
    return new long[] {whole, none};
  }

  private static String tail(String text) {
    return text.length() <= 4_000 ? text : text.substring(text.length() - 4_000);
  }
}
