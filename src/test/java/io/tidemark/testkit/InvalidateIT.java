package io.tidemark.testkit;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.MongoNamespace;
import io.tidemark.Await;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointKind;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.pipeline.PipelineControl;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * Invalidate: a drop or rename ends the stream keeping the invalidate's token; a stream told to
 * follow the collection goes on with startAfter it, each event once.
 */
class InvalidateIT extends FaultsFixture {

  @Test
  void aDropEndsTheStreamKeepingTheInvalidateToken() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("dropped-coll", quiet(), store, received, 5);

    collection("dropped-coll").drop();

    await(control.completion());
    assertThat(received.operations()).endsWith("drop", "invalidate");
    Checkpoint kept = store.get("dropped-coll").orElseThrow();
    assertThat(kept.kind()).isEqualTo(CheckpointKind.INVALIDATE);
    assertThat(kept.resumeToken()).isEqualTo(received.last().resumeToken());
    PipelineControl again = start("dropped-coll", "dropped-coll", quiet(), store, received);
    assertThat(failure(again)).hasMessageContaining("ended at an invalidate").hasMessageContaining("follow-collection = on");
    assertThat(store.get("dropped-coll").orElseThrow().kind()).isEqualTo(CheckpointKind.INVALIDATE);
  }

  @Test
  void followingTheCollectionGoesOnAfterADropWithStartAfter() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("follow-drop", quiet().followCollection(true), store, received, 5);

    collection("follow-drop").drop();
    Await.until(Duration.ofSeconds(30), () -> received.operations().contains("invalidate"), () -> "the invalidate delivered");
    insert("follow-drop", 5, 10);

    awaitIds(received, range(0, 10));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
    assertThat(control.completion().toCompletableFuture()).isNotDone();
  }

  @Test
  void aRenameEndsTheStreamAndFollowingGoesOn() throws Exception {
    InMemoryCheckpointStore store = InMemoryCheckpointStore.create();
    Received received = new Received();
    PipelineControl control = runThrough("renamed", quiet(), store, received, 5);

    collection("renamed").renameCollection(new MongoNamespace(DB, "renamed-old"));

    await(control.completion());
    assertThat(received.operations()).endsWith("rename", "invalidate");
    assertThat(store.get("renamed").orElseThrow().kind()).isEqualTo(CheckpointKind.INVALIDATE);

    // The same stream, told to follow, goes on with startAfter the invalidate: the collection's next life.
    PipelineControl following = start("renamed", "renamed", quiet().followCollection(true), store, received);
    started(following);
    insert("renamed", 5, 8);
    awaitIds(received, range(0, 8));
    assertThat(received.counts.values()).as("each event once").allMatch(n -> n.get() == 1);
  }
}
