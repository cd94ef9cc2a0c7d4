package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.checkpoint.Checkpoint;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonInt64;
import org.bson.BsonObjectId;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import org.bson.BsonValue;
import org.bson.types.ObjectId;
import org.junit.jupiter.api.Test;

/**
 * A chunked copy's positions over many generated worlds: random collections, boundaries (empty
 * chunks included), parallelism, merge orders, window sizes and crashes at any step, several per
 * world. Every position goes through the checkpoint's stored form and back; a resumed copy must then
 * copy every document not yet saved as copied (nothing missing), and of those copied before the
 * crash only the ones after the saved prefix of the merged order: at most the window N.
 */
class SnapshotChunksTest {
  private static final BsonTimestamp AT = new BsonTimestamp(1_795_791_036, 7);

  @Test
  void resumingFromAnySavedPositionMissesNothingAndRecopiesAtMostTheWindow() {
    for (int seed = 0; seed < 500; seed++) {
      Random random = new Random(seed);
      TreeSet<Integer> idSet = new TreeSet<>();
      int size = random.nextInt(4) == 0 ? random.nextInt(3) : random.nextInt(400);
      while (idSet.size() < size) idSet.add(random.nextInt(10_000) - 2_000);
      List<Integer> ids = new ArrayList<>(idSet);
      TreeSet<Integer> bounds = new TreeSet<>();
      int boundaryCount = random.nextInt(12);
      while (bounds.size() < boundaryCount) bounds.add(random.nextInt(12_000) - 3_000); // some outside the data: empty chunks
      List<ResumePosition.Chunk> chunks = ResumePosition.Chunk.between(bounds.stream().map(b -> (BsonValue) new BsonInt32(b)).toList());
      for (int id : ids) {
        assertThat(chunks.stream().filter(chunk -> chunk.holds(new BsonInt32(id))).count()).as("seed %d: chunks holding %d", seed, id).isEqualTo(1);
      }
      int parallelism = 1 + random.nextInt(5);
      int window = 1 + random.nextInt(20);

      ResumePosition.Snapshot saved = new ResumePosition.Snapshot(AT, null, null, chunks);
      Set<Integer> copiedEver = new HashSet<>();
      for (int crash = 0; crash < 3; crash++) {
        Set<Integer> toCopy = new HashSet<>();
        for (int id : ids) if (remaining(saved, id)) toCopy.add(id);
        Set<Integer> savedAsCopied = new HashSet<>(ids);
        savedAsCopied.removeAll(toCopy);
        assertThat(copiedEver).as("seed %d: every document saved as copied was copied", seed).containsAll(savedAsCopied);

        List<Emitted> run = merge(saved, ids, parallelism, random);
        for (Emitted emitted : run) assertThat(toCopy).as("seed %d: only documents still to copy are read", seed).contains(emitted.id());
        assertThat(run).as("seed %d: the run reads each document still to copy once", seed).hasSize(toCopy.size());

        int crashAt = random.nextInt(run.size() + 1); // elements delivered before the crash
        int prefix = Math.max(0, crashAt - random.nextInt(window + 1)); // the window saves a prefix, at most N behind
        Set<Integer> delivered = new HashSet<>();
        for (int i = 0; i < crashAt; i++) delivered.add(run.get(i).id());
        copiedEver.addAll(delivered);
        ResumePosition.Snapshot next = prefix == 0 ? saved : run.get(prefix - 1).position();
        saved = stored(next);

        Set<Integer> recopied = new HashSet<>();
        for (int id : delivered) if (remaining(saved, id)) recopied.add(id);
        Set<Integer> afterPrefix = new HashSet<>();
        for (int i = prefix; i < crashAt; i++) afterPrefix.add(run.get(i).id());
        assertThat(recopied).as("seed %d crash %d: copied again = those after the saved prefix", seed, crash).isEqualTo(afterPrefix);
        assertThat(recopied.size()).as("seed %d: re-copied within the window", seed).isLessThanOrEqualTo(window);
        for (int id : ids) {
          if (!delivered.contains(id) && !copiedEver.contains(id)) {
            assertThat(remaining(saved, id)).as("seed %d: %d never copied is still to copy", seed, id).isTrue();
          }
        }
      }
      // The last run, not killed, completes the copy.
      List<Emitted> last = merge(saved, ids, parallelism, random);
      last.forEach(emitted -> copiedEver.add(emitted.id()));
      assertThat(copiedEver).as("seed %d: every document copied", seed).containsExactlyInAnyOrderElementsOf(ids);
    }
  }

  /**
   * The same worlds copied by copy workers (issue 16): the consumer asks for a batch of up to B
   * documents of a chunk at a time and turns each answer into one element with the position after
   * its last document (the merge order is that of the answers). Killed at any step, with the batch in
   * flight of every open chunk partly handled by its worker: a resume re-copies exactly the
   * documents of the answers after the saved prefix plus those partly handled batches' documents —
   * at most (N + C) × B; nothing is missed. (Losing only a worker's node, the consumer going on,
   * re-copies the handled part of the batches in flight there: {@code ShardedCopyIT}.)
   */
  @Test
  void batchesCopiedElsewhereResumeFromAnySavedPositionMissingNothingAndRecopyingAtMostTheirWindowAndTheBatchesInFlight() {
    for (int seed = 0; seed < 500; seed++) {
      Random random = new Random(seed);
      TreeSet<Integer> idSet = new TreeSet<>();
      int size = random.nextInt(4) == 0 ? random.nextInt(3) : random.nextInt(400);
      while (idSet.size() < size) idSet.add(random.nextInt(10_000) - 2_000);
      List<Integer> ids = new ArrayList<>(idSet);
      TreeSet<Integer> bounds = new TreeSet<>();
      int boundaryCount = random.nextInt(12);
      while (bounds.size() < boundaryCount) bounds.add(random.nextInt(12_000) - 3_000);
      List<ResumePosition.Chunk> chunks = ResumePosition.Chunk.between(bounds.stream().map(b -> (BsonValue) new BsonInt32(b)).toList());
      int parallelism = 1 + random.nextInt(5);
      int window = 1 + random.nextInt(20);
      int batch = 1 + random.nextInt(30);

      ResumePosition.Snapshot saved = new ResumePosition.Snapshot(AT, null, null, chunks);
      Set<Integer> copiedEver = new HashSet<>();
      for (int crash = 0; crash < 3; crash++) {
        Set<Integer> toCopy = new HashSet<>();
        for (int id : ids) if (remaining(saved, id)) toCopy.add(id);
        BatchedRun run = mergeBatches(saved, ids, parallelism, batch, random);
        List<Integer> read = run.answers().stream().flatMap(answer -> answer.ids().stream()).toList();
        assertThat(read).as("seed %d: the run copies each document still to copy once", seed).hasSize(toCopy.size());
        assertThat(new HashSet<>(read)).as("seed %d: only documents still to copy", seed).isEqualTo(toCopy);
        for (Answer answer : run.answers()) assertThat(answer.ids()).as("seed %d: batches of at most B", seed).hasSizeLessThanOrEqualTo(batch);

        int crashAt = random.nextInt(run.answers().size() + 1); // answers taken before the crash
        int prefix = Math.max(0, crashAt - random.nextInt(window + 1)); // the window saves a prefix, at most N elements behind
        Set<Integer> copied = new HashSet<>();
        for (int i = 0; i < crashAt; i++) copied.addAll(run.answers().get(i).ids());
        Set<Integer> partly = new HashSet<>(); // the batches in flight, partly handled by their workers when the crash came
        List<List<Integer>> inFlight = run.inFlight().get(crashAt);
        assertThat(inFlight).as("seed %d: at most C batches in flight", seed).hasSizeLessThanOrEqualTo(parallelism);
        for (List<Integer> next : inFlight) partly.addAll(next.subList(0, random.nextInt(next.size() + 1)));
        copied.addAll(partly);
        copiedEver.addAll(copied);
        saved = stored(prefix == 0 ? saved : run.answers().get(prefix - 1).position());

        Set<Integer> recopied = new HashSet<>();
        for (int id : copied) if (remaining(saved, id)) recopied.add(id);
        Set<Integer> expected = new HashSet<>(partly);
        for (int i = prefix; i < crashAt; i++) expected.addAll(run.answers().get(i).ids());
        assertThat(recopied).as("seed %d crash %d: copied again = the answers after the saved prefix and the batches in flight", seed, crash)
            .isEqualTo(expected);
        assertThat(recopied.size()).as("seed %d: re-copied within (N + C) x B", seed).isLessThanOrEqualTo((window + parallelism) * batch);
        for (int id : ids) {
          if (!copiedEver.contains(id)) assertThat(remaining(saved, id)).as("seed %d: %d never copied is still to copy", seed, id).isTrue();
        }
      }
      BatchedRun last = mergeBatches(saved, ids, parallelism, batch, random);
      last.answers().forEach(answer -> copiedEver.addAll(answer.ids()));
      assertThat(copiedEver).as("seed %d: every document copied", seed).containsExactlyInAnyOrderElementsOf(ids);
    }
  }

  /** One worker's answer, as the consumer takes it: the batch's documents and the copy's position after it. */
  private record Answer(List<Integer> ids, ResumePosition.Snapshot position) {}

  /** A run of batched copies: its answers in the order taken, and after each number of answers taken, the batches then in flight. */
  private record BatchedRun(List<Answer> answers, List<List<List<Integer>>> inFlight) {}

  /**
   * One run of a copy by copy workers from {@code from}, as the consumer merges it
   * ({@code ChunkBatches} under {@code flatMapMerge(parallelism)}): the chunks not done opened in
   * order, up to C at a time, each asked for one batch of up to {@code batch} documents after its
   * {@code _id} at a time; a shorter answer (an empty one after a full last batch) ends the chunk.
   */
  private static BatchedRun mergeBatches(ResumePosition.Snapshot from, List<Integer> ids, int parallelism, int batch, Random random) {
    List<ResumePosition.Chunk> chunks = from.chunks();
    SnapshotChunks.Merged merged = new SnapshotChunks.Merged(from.at(), from.namespace(), chunks);
    List<Integer> pending = new ArrayList<>();
    for (int i = 0; i < chunks.size(); i++) if (!chunks.get(i).done()) pending.add(i);
    List<List<Integer>> open = new ArrayList<>();
    List<Integer> openIndex = new ArrayList<>();
    List<Answer> answers = new ArrayList<>();
    List<List<List<Integer>>> inFlight = new ArrayList<>();
    while (!pending.isEmpty() || !open.isEmpty()) {
      while (open.size() < parallelism && !pending.isEmpty()) {
        int chunk = pending.remove(0);
        List<Integer> documents = new ArrayList<>();
        for (int id : ids) if (chunks.get(chunk).remaining(new BsonInt32(id))) documents.add(id);
        open.add(documents);
        openIndex.add(chunk);
      }
      int pick = random.nextInt(open.size());
      int chunk = openIndex.get(pick);
      List<Integer> documents = open.get(pick);
      List<Integer> answer = new ArrayList<>(documents.subList(0, Math.min(batch, documents.size())));
      if (!answer.isEmpty()) {
        // Before this answer is taken, every open chunk has its next batch in flight (this one included).
        List<List<Integer>> asked = new ArrayList<>();
        for (List<Integer> left : open) if (!left.isEmpty()) asked.add(List.copyOf(left.subList(0, Math.min(batch, left.size()))));
        if (inFlight.size() == answers.size()) inFlight.add(asked);
        else inFlight.set(answers.size(), asked);
        documents.subList(0, answer.size()).clear();
        answers.add(new Answer(answer, merged.copied(chunk, new BsonInt32(answer.get(answer.size() - 1)))));
      }
      if (answer.size() < batch) { // a short (or empty) answer ends the chunk: its end is taken after its last batch
        merged.finished(chunk);
        open.remove(pick);
        openIndex.remove(pick);
      }
    }
    while (inFlight.size() <= answers.size()) inFlight.add(List.of());
    return new BatchedRun(answers, inFlight);
  }

  private static boolean remaining(ResumePosition.Snapshot position, int id) {
    return position.chunks().stream().anyMatch(chunk -> chunk.remaining(new BsonInt32(id)));
  }

  /** Through the checkpoint's stored form (extended JSON) and back. */
  private static ResumePosition.Snapshot stored(ResumePosition.Snapshot position) {
    return (ResumePosition.Snapshot) ResumePosition.snapshotFrom(position.at(), Checkpoint.parseSnapshot(
        Checkpoint.snapshot("s", position.at(), null, null).withSnapshot(position.progress()).snapshotJson()));
  }

  private record Emitted(int id, ResumePosition.Snapshot position) {}

  /**
   * One run of the copy from {@code from}, as {@code flatMapMerge(parallelism)} merges it: the chunks
   * not done opened in order, up to {@code parallelism} at a time, each read in order after its
   * {@code _id}, the merge taking from any open chunk; each document with its position.
   */
  private static List<Emitted> merge(ResumePosition.Snapshot from, List<Integer> ids, int parallelism, Random random) {
    List<ResumePosition.Chunk> chunks = from.chunks();
    SnapshotChunks.Merged merged = new SnapshotChunks.Merged(from.at(), from.namespace(), chunks);
    List<Integer> pending = new ArrayList<>();
    for (int i = 0; i < chunks.size(); i++) if (!chunks.get(i).done()) pending.add(i);
    List<List<Integer>> open = new ArrayList<>();
    List<Integer> openIndex = new ArrayList<>();
    List<Emitted> emitted = new ArrayList<>();
    while (!pending.isEmpty() || !open.isEmpty()) {
      while (open.size() < parallelism && !pending.isEmpty()) {
        int chunk = pending.remove(0);
        List<Integer> documents = new ArrayList<>();
        for (int id : ids) if (chunks.get(chunk).remaining(new BsonInt32(id))) documents.add(id);
        open.add(documents);
        openIndex.add(chunk);
      }
      int pick = random.nextInt(open.size());
      List<Integer> documents = open.get(pick);
      if (documents.isEmpty()) {
        merged.finished(openIndex.get(pick));
        open.remove(pick);
        openIndex.remove(pick);
      } else {
        int id = documents.remove(0);
        emitted.add(new Emitted(id, merged.copied(openIndex.get(pick), new BsonInt32(id))));
      }
    }
    return emitted;
  }

  /** A document of a copy of many collections: its collection and {@code _id}. */
  private record Doc(String ns, int id) {}

  private record Taken(Doc doc, ResumePosition.Snapshot position) {}

  /**
   * A copy of many collections at once (some empty, some of one document), C chunks at a time across
   * them, each collection split as it starts (a resumed run splits a collection the position does not
   * keep again, differently), killed three times at any step; every position through the stored form.
   * Some copies begin from a position of one collection at a time ({@code {}}, {@code {ns}},
   * {@code {ns, _id}}, {@code {ns, chunks}}), as an older run saved it.
   */
  @Test
  void aCopyOfManyCollectionsAtOnceResumedFromAnySavedPositionMissesNothingAndRecopiesAtMostTheWindow() {
    for (int seed = 0; seed < 500; seed++) {
      Random random = new Random(seed);
      int count = 1 + random.nextInt(5);
      java.util.Map<String, List<Integer>> world = new java.util.TreeMap<>();
      for (int c = 0; c < count; c++) {
        TreeSet<Integer> idSet = new TreeSet<>();
        int kind = random.nextInt(4);
        int size = kind == 0 ? 0 : kind == 1 ? 1 : random.nextInt(150);
        while (idSet.size() < size) idSet.add(random.nextInt(2_000) - 500);
        world.put("db.c" + c, new ArrayList<>(idSet));
      }
      List<Doc> docs = new ArrayList<>();
      world.forEach((ns, ids) -> ids.forEach(id -> docs.add(new Doc(ns, id))));
      int parallelism = 1 + random.nextInt(5);
      int window = 1 + random.nextInt(20);

      ResumePosition.Snapshot saved = stored(olderForm(random, world));
      Set<Doc> copiedEver = new HashSet<>();
      for (Doc doc : docs) if (!remaining(saved, doc)) copiedEver.add(doc); // an older run copied them
      for (int crash = 0; crash < 3; crash++) {
        Set<Doc> toCopy = new HashSet<>();
        for (Doc doc : docs) if (remaining(saved, doc)) toCopy.add(doc);
        Set<Doc> savedAsCopied = new HashSet<>(docs);
        savedAsCopied.removeAll(toCopy);
        assertThat(copiedEver).as("seed %d: every document saved as copied was copied", seed).containsAll(savedAsCopied);

        List<Taken> run = mergeAcross(saved, world, parallelism, random);
        for (Taken taken : run) assertThat(toCopy).as("seed %d: only documents still to copy are read", seed).contains(taken.doc());
        assertThat(run).as("seed %d: the run reads each document still to copy once", seed).hasSize(toCopy.size());

        int crashAt = random.nextInt(run.size() + 1);
        int prefix = Math.max(0, crashAt - random.nextInt(window + 1));
        Set<Doc> delivered = new HashSet<>();
        for (int i = 0; i < crashAt; i++) delivered.add(run.get(i).doc());
        copiedEver.addAll(delivered);
        saved = stored(prefix == 0 ? saved : run.get(prefix - 1).position());

        Set<Doc> recopied = new HashSet<>();
        for (Doc doc : delivered) if (remaining(saved, doc)) recopied.add(doc);
        Set<Doc> afterPrefix = new HashSet<>();
        for (int i = prefix; i < crashAt; i++) afterPrefix.add(run.get(i).doc());
        assertThat(recopied).as("seed %d crash %d: copied again = those after the saved prefix", seed, crash).isEqualTo(afterPrefix);
        assertThat(recopied.size()).as("seed %d: re-copied within the window", seed).isLessThanOrEqualTo(window);
        for (Doc doc : docs) {
          if (!copiedEver.contains(doc)) assertThat(remaining(saved, doc)).as("seed %d: %s never copied is still to copy", seed, doc).isTrue();
        }
      }
      List<Taken> last = mergeAcross(saved, world, parallelism, random);
      last.forEach(taken -> copiedEver.add(taken.doc()));
      assertThat(copiedEver).as("seed %d: every document of every collection copied", seed).containsExactlyInAnyOrderElementsOf(docs);
    }
  }

  /** A position an older run (one collection at a time) may have saved, or a fresh one. */
  private static ResumePosition.Snapshot olderForm(Random random, java.util.Map<String, List<Integer>> world) {
    List<String> names = new ArrayList<>(world.keySet());
    String ns = names.get(random.nextInt(names.size()));
    List<Integer> ids = world.get(ns);
    switch (random.nextInt(5)) {
      case 0:
        return new ResumePosition.Snapshot(AT, ns, null);
      case 1:
        return ids.isEmpty() ? new ResumePosition.Snapshot(AT, ns, null) : new ResumePosition.Snapshot(AT, ns, new BsonInt32(ids.get(random.nextInt(ids.size()))));
      case 2: {
        List<ResumePosition.Chunk> chunks = new ArrayList<>(plan(random));
        for (int i = 0; i < chunks.size(); i++) {
          ResumePosition.Chunk chunk = chunks.get(i);
          List<Integer> in = ids.stream().filter(id -> chunk.holds(new BsonInt32(id))).toList();
          int progress = random.nextInt(3);
          if (progress == 1 && !in.isEmpty()) chunks.set(i, chunk.copiedTo(new BsonInt32(in.get(random.nextInt(in.size())))));
          if (progress == 2) chunks.set(i, chunk.finished());
        }
        return new ResumePosition.Snapshot(AT, ns, null, chunks);
      }
      default:
        return new ResumePosition.Snapshot(AT, null, null);
    }
  }

  /** A collection's chunks as a split when its copy starts could give them: random boundaries, some outside the data. */
  private static List<ResumePosition.Chunk> plan(Random random) {
    TreeSet<Integer> bounds = new TreeSet<>();
    int boundaryCount = random.nextInt(6);
    while (bounds.size() < boundaryCount) bounds.add(random.nextInt(3_000) - 1_000);
    return ResumePosition.Chunk.between(bounds.stream().map(b -> (BsonValue) new BsonInt32(b)).toList());
  }

  private static boolean remaining(ResumePosition.Snapshot position, Doc doc) {
    return position.remaining(doc.ns(), new BsonInt32(doc.id()));
  }

  /** A chunk to copy: chunk {@code chunk} of {@code ns}, split into {@code chunks}. */
  private record Work(String ns, List<ResumePosition.Chunk> chunks, int chunk) {}

  /**
   * One run of a copy of many collections from {@code from}, as the source draws it: the collections
   * not done in namespace order, each split when the merge wants its first chunk (or going on with the
   * chunks the position keeps), their chunks opened in order up to {@code parallelism} at a time
   * across collections, the merge taking from any open chunk.
   */
  private static List<Taken> mergeAcross(ResumePosition.Snapshot start, java.util.Map<String, List<Integer>> world, int parallelism, Random random) {
    ResumePosition.Snapshot from = SnapshotChunks.acrossCollections(start, new ArrayList<>(world.keySet()));
    SnapshotChunks.Across merged = new SnapshotChunks.Across(from);
    java.util.Map<String, List<ResumePosition.Chunk>> kept = new java.util.HashMap<>();
    from.collections().forEach(collection -> kept.put(collection.namespace(), collection.chunks()));
    List<String> collections = new ArrayList<>(world.keySet().stream().filter(ns -> !from.done().contains(ns)).toList());
    List<Work> pending = new ArrayList<>();
    List<Work> open = new ArrayList<>();
    List<List<Integer>> openDocuments = new ArrayList<>();
    List<Taken> taken = new ArrayList<>();
    while (!collections.isEmpty() || !pending.isEmpty() || !open.isEmpty()) {
      while (open.size() < parallelism && (!pending.isEmpty() || !collections.isEmpty())) {
        if (pending.isEmpty()) {
          String ns = collections.remove(0);
          List<ResumePosition.Chunk> chunks = kept.containsKey(ns) ? kept.get(ns) : parallelism < 2 ? ResumePosition.Chunk.between(List.of()) : plan(random);
          for (int i = 0; i < chunks.size(); i++) if (!chunks.get(i).done()) pending.add(new Work(ns, chunks, i));
          continue;
        }
        Work work = pending.remove(0);
        ResumePosition.Chunk chunk = work.chunks().get(work.chunk());
        List<Integer> documents = new ArrayList<>();
        for (int id : world.get(work.ns())) if (chunk.remaining(new BsonInt32(id))) documents.add(id);
        open.add(work);
        openDocuments.add(documents);
      }
      if (open.isEmpty()) break; // the last collections had no chunk left to copy
      int pick = random.nextInt(open.size());
      Work work = open.get(pick);
      List<Integer> documents = openDocuments.get(pick);
      if (documents.isEmpty()) {
        merged.finished(work.ns(), work.chunks(), work.chunk());
        open.remove(pick);
        openDocuments.remove(pick);
      } else {
        int id = documents.remove(0);
        taken.add(new Taken(new Doc(work.ns(), id), merged.copied(work.ns(), work.chunks(), work.chunk(), new BsonInt32(id))));
      }
    }
    return taken;
  }

  @Test
  void theFormOfManyCollectionsAtOnceKeepsItsCollectionsThroughTheCheckpointAndTheOldFormsReadAsTheyMeant() {
    ResumePosition.Snapshot position = ResumePosition.Snapshot.ofCollections(AT, List.of(
        new ResumePosition.Collection("shop.orders", List.of(new ResumePosition.Chunk(null, new BsonInt64(10), new BsonInt64(4), false),
            new ResumePosition.Chunk(new BsonInt64(10), null, null, true)))), List.of("shop.customers"));
    ResumePosition.Snapshot back = stored(position);
    assertThat(back).isEqualTo(position);
    assertThat(back.progress().toJson()).isEqualTo("{\"collections\": [{\"ns\": \"shop.orders\", \"chunks\": [{\"max\": 10, \"_id\": 4},"
        + " {\"min\": 10, \"done\": true}]}], \"done\": [\"shop.customers\"]}");
    assertThat(back.collections().get(0).chunks().get(0).max()).as("a long stays a long").isEqualTo(new BsonInt64(10));
    assertThat(back.remaining("shop.customers", new BsonInt64(1))).as("a collection done").isFalse();
    assertThat(back.remaining("shop.orders", new BsonInt64(4))).isFalse();
    assertThat(back.remaining("shop.orders", new BsonInt64(5))).isTrue();
    assertThat(back.remaining("shop.orders", new BsonInt64(12))).as("a chunk done").isFalse();
    assertThat(back.remaining("shop.archive", new BsonInt64(1))).as("a collection not begun, whatever its name's order").isTrue();
    assertThat(back.describe()).contains("1 done, 1 begun: [shop.orders], 1 of 2 chunks done");

    List<String> all = List.of("shop.a", "shop.b", "shop.c");
    assertThat(SnapshotChunks.acrossCollections(new ResumePosition.Snapshot(AT, null, null), all))
        .isEqualTo(ResumePosition.Snapshot.ofCollections(AT, List.of(), List.of()));
    assertThat(SnapshotChunks.acrossCollections(new ResumePosition.Snapshot(AT, "shop.b", null), all)).as("{ns}: b not begun")
        .isEqualTo(ResumePosition.Snapshot.ofCollections(AT, List.of(), List.of("shop.a")));
    assertThat(SnapshotChunks.acrossCollections(new ResumePosition.Snapshot(AT, "shop.b", new BsonString("k")), all)).as("{ns, _id}: one cursor's range")
        .isEqualTo(ResumePosition.Snapshot.ofCollections(AT,
            List.of(new ResumePosition.Collection("shop.b", List.of(new ResumePosition.Chunk(null, null, new BsonString("k"), false)))), List.of("shop.a")));
  }

  @Test
  void theOldProgressFormsReadUnchanged() {
    assertThat(ResumePosition.snapshotFrom(AT, new BsonDocument())).isEqualTo(new ResumePosition.Snapshot(AT, null, null));
    assertThat(ResumePosition.snapshotFrom(AT, BsonDocument.parse("{\"_id\": {\"$numberLong\": \"5\"}}")))
        .isEqualTo(new ResumePosition.Snapshot(AT, null, new BsonInt64(5)));
    ResumePosition.Snapshot many = (ResumePosition.Snapshot) ResumePosition.snapshotFrom(AT, BsonDocument.parse("{\"ns\": \"shop.orders\", \"_id\": \"k\"}"));
    assertThat(many).isEqualTo(new ResumePosition.Snapshot(AT, "shop.orders", new BsonString("k")));
    assertThat(many.chunks()).as("not chunked").isNull();
    assertThat(many.progress().toJson()).isEqualTo("{\"ns\": \"shop.orders\", \"_id\": \"k\"}");
  }

  @Test
  void aChunkedPositionKeepsItsRangesAndIdTypesThroughTheCheckpoint() {
    ObjectId a = new ObjectId();
    ObjectId b = new ObjectId();
    ObjectId c = new ObjectId();
    List<ResumePosition.Chunk> chunks = List.of(
        new ResumePosition.Chunk(null, new BsonObjectId(a), new BsonObjectId(a), true),
        new ResumePosition.Chunk(new BsonObjectId(a), new BsonObjectId(c), new BsonObjectId(b), false),
        new ResumePosition.Chunk(new BsonObjectId(c), null, null, false));
    ResumePosition.Snapshot position = new ResumePosition.Snapshot(AT, "shop.orders", null, chunks);
    ResumePosition.Snapshot back = stored(position);
    assertThat(back).isEqualTo(position);
    assertThat(back.progress().getArray("chunks")).hasSize(3);
    assertThat(back.describe()).contains("in 3 chunks (1 done, 1 begun) of shop.orders");
    ResumePosition.Snapshot ints = stored(new ResumePosition.Snapshot(AT, null, null,
        ResumePosition.Chunk.between(List.of(new BsonInt64(10), new BsonInt64(20)))));
    assertThat(ints.chunks().get(1).min()).as("a long stays a long").isEqualTo(new BsonInt64(10));
  }

  @Test
  void boundariesAreDistinctIncreasingQuantilesAfterTheFirstId() {
    List<BsonValue> sample = new ArrayList<>();
    for (int i = 0; i < 100; i++) sample.add(new BsonInt32(i % 50)); // duplicates, unsorted
    sample.add(new BsonString("other kind"));
    List<BsonValue> boundaries = SnapshotChunks.boundaries(sample, 5, new BsonInt32(0));
    assertThat(boundaries).containsExactly(new BsonInt32(10), new BsonInt32(20), new BsonInt32(30), new BsonInt32(40));
    assertThat(SnapshotChunks.boundaries(List.of(new BsonInt32(0), new BsonInt32(0)), 4, new BsonInt32(0)))
        .as("no boundary at or before the first _id").isEmpty();
  }

  @Test
  void denseIntegerIdsAreSplitEvenlyByValueAndSparseOnesAreNot() {
    assertThat(SnapshotChunks.evenly(new BsonInt32(0), new BsonInt32(99), 100, 4))
        .containsExactly(new BsonInt32(25), new BsonInt32(50), new BsonInt32(75));
    assertThat(SnapshotChunks.evenly(new BsonInt64(-10), new BsonInt64(9), 20, 2)).containsExactly(new BsonInt64(0));
    assertThat(SnapshotChunks.evenly(new BsonInt32(0), new BsonInt64(Long.MAX_VALUE), 100, 4)).as("too sparse: sampled instead").isNull();
    assertThat(SnapshotChunks.evenly(new BsonInt32(0), new BsonInt32(2), 3, 8)).as("no empty boundary twice").containsExactly(new BsonInt32(1), new BsonInt32(2));
    assertThat(SnapshotChunks.evenly(new BsonString("a"), new BsonString("z"), 100, 4)).as("not integers").isNull();
  }

  @Test
  void theChunkCountIsAtLeastTheParallelismAboutChunkSizeEachAndCapped() {
    SnapshotSettings settings = SnapshotSettings.defaults().withParallelism(4).withChunkSize(25_000);
    assertThat(SnapshotChunks.chunkCount(500_000, settings)).isEqualTo(20);
    assertThat(SnapshotChunks.chunkCount(1_000, settings)).as("at least C").isEqualTo(4);
    assertThat(SnapshotChunks.chunkCount(3, settings)).as("no more than the documents").isEqualTo(3);
    assertThat(SnapshotChunks.chunkCount(1_000_000_000L, settings)).isEqualTo(SnapshotChunks.MAX_CHUNKS);
    assertThat(SnapshotChunks.chunkCount(500_000, settings.withParallelism(1))).as("parallelism 1: one cursor").isEqualTo(1);
  }
}
