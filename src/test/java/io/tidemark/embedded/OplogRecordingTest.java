package io.tidemark.embedded;

import static org.assertj.core.api.Assertions.assertThat;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import io.netty.channel.embedded.EmbeddedChannel;
import java.util.List;
import org.h2.mvstore.MVStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The collections record their writes in the server's oplog when the write was given it, and
 * only then: mongo-java-server runs writes that must leave no entry with {@code NoopOplog}, and
 * a caller may run writes with an oplog of its own that records them its way.
 */
class OplogRecordingTest {
  private final EmbeddedBackend backend = new EmbeddedBackend(new MVStore.Builder().open(), EmbeddedSettings.defaults(), version -> {});
  private final EmbeddedChannel channel = new EmbeddedChannel();

  {
    backend.enableOplog();
  }

  @AfterEach
  void close() {
    channel.close();
    backend.close();
  }

  private long entries() {
    return backend.resolveDatabase("local").resolveCollection("oplog.rs", true).count();
  }

  private Document run(String command, Document query) {
    return backend.handleCommand(channel, "shop", command, query);
  }

  private Document runWithoutOplog(String command, Document query) {
    return backend.resolveDatabase("shop").handleCommand(channel, command, query, backend::resolveDatabase, NoopOplog.get());
  }

  @Test
  void writesGivenTheServersOplogAreRecorded() {
    run("insert", new Document("insert", "orders").append("documents", List.of(new Document("_id", 1))));
    run("findAndModify", new Document("findAndModify", "orders").append("query", new Document("_id", 1))
        .append("update", new Document("$set", new Document("a", 1))));
    run("delete", new Document("delete", "orders").append("deletes", List.of(new Document("q", new Document("_id", 1)).append("limit", 1))));
    assertThat(entries()).as("the collection's create, made by the insert, and the three writes").isEqualTo(4);
  }

  @Test
  void writesGivenAnotherOplogAreNot() {
    runWithoutOplog("insert", new Document("insert", "orders").append("documents", List.of(new Document("_id", 1), new Document("_id", 2))));
    runWithoutOplog("findAndModify", new Document("findAndModify", "orders").append("query", new Document("_id", 1))
        .append("update", new Document("$set", new Document("a", 1))));
    runWithoutOplog("update", new Document("update", "orders").append("updates",
        List.of(new Document("q", new Document("_id", 2)).append("u", new Document("$set", new Document("b", 2))))));
    runWithoutOplog("delete", new Document("delete", "orders").append("deletes",
        List.of(new Document("q", new Document("_id", 1)).append("limit", 1))));
    assertThat(entries()).isZero();
    assertThat(backend.resolveDatabase("shop").resolveCollection("orders", true).count()).as("the writes themselves were done").isEqualTo(1);
    // and the server's own writes are recorded again afterwards
    run("insert", new Document("insert", "orders").append("documents", List.of(new Document("_id", 3))));
    assertThat(entries()).isEqualTo(1);
  }
}
