package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import io.tidemark.source.SignalCollection;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code snapshot request}: a request document in the signal collection, or a clear refusal. */
class SnapshotCommandIT {
  private static Path config(Path dir, String uri, String signals) throws Exception {
    Path config = dir.resolve("app.conf");
    Files.writeString(config, """
        tidemark.mongodb.uri = "%s"
        %s
        tidemark.streams.orders {
          source { database = shop, collection = orders }
          sink { type = stdout }
        }
        """.formatted(uri, signals == null ? "" : "tidemark.pipeline.incremental-snapshot.signal-collection = \"" + signals + "\""));
    return config;
  }

  private record Result(int code, String out, String err) {}

  private static Result execute(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Result(code, out.toString().strip(), err.toString().strip());
  }

  @Test
  void writesARequestForTheStreamIntoTheSignalCollection(@TempDir Path dir) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = config(dir, mongo.connectionString(), "ops.signals");
      Result result = execute("snapshot", "request", "orders", "--config", config.toString(), "--filter", "{\"status\": \"open\"}");
      assertThat(result.code()).as(result.err()).isZero();
      List<Document> requests = client.getDatabase("ops").getCollection("signals").find().into(new ArrayList<>());
      assertThat(requests).hasSize(1);
      Document request = requests.get(0);
      assertThat(request.getString("stream")).isEqualTo("orders");
      assertThat(request.getString("collection")).isEqualTo("shop.orders");
      assertThat(request.get("filter", Document.class)).isEqualTo(new Document("status", "open"));
      assertThat(request.getString("state")).isEqualTo(SignalCollection.PENDING);
      assertThat(result.out()).contains(request.getObjectId("_id").toHexString()).contains("shop.orders");
    }
  }

  @Test
  void refusesBadJsonAnUnknownStreamAnotherCollectionAndNoSignalCollection(@TempDir Path dir) throws Exception {
    Path config = config(dir, "mongodb://127.0.0.1:1", "signals");
    Result badJson = execute("snapshot", "request", "orders", "--config", config.toString(), "--filter", "{status: ");
    assertThat(badJson.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(badJson.err()).startsWith("error: invalid --filter {status: : expected a JSON object");
    Result unknown = execute("snapshot", "request", "ordres", "--config", config.toString());
    assertThat(unknown.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(unknown.err()).isEqualTo("error: no stream 'ordres' in " + config + ": expected one of [orders]");
    Result other = execute("snapshot", "request", "orders", "--config", config.toString(), "--collection", "shop.customers");
    assertThat(other.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(other.err()).isEqualTo("error: stream 'orders' does not watch shop.customers (it watches shop.orders)");
    Path off = dir.resolve("off");
    Files.createDirectories(off);
    Result disabled = execute("snapshot", "request", "orders", "--config", config(off, "mongodb://127.0.0.1:1", null).toString());
    assertThat(disabled.code()).isEqualTo(Main.BAD_INPUT);
    assertThat(disabled.err()).contains("tidemark.pipeline.incremental-snapshot.signal-collection is not set");
  }

  /**
   * {@code snapshot pause|resume|stop}: each changes the state of the stream's oldest request it
   * applies to (or the one --request names), and refuses clearly when there is none.
   */
  @Test
  void pauseResumeAndStopChangeTheRequestsStateOrSayWhyNot(@TempDir Path dir) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      Path config = config(dir, mongo.connectionString(), "ops.signals");
      var signals = client.getDatabase("ops").getCollection("signals");
      assertThat(execute("snapshot", "request", "orders", "--config", config.toString()).code()).isZero();
      assertThat(execute("snapshot", "request", "orders", "--config", config.toString()).code()).isZero();
      List<Document> requests = signals.find().sort(new Document("_id", 1)).into(new ArrayList<>());
      String first = requests.get(0).getObjectId("_id").toHexString();
      String second = requests.get(1).getObjectId("_id").toHexString();

      Result paused = execute("snapshot", "pause", "orders", "--config", config.toString());
      assertThat(paused.code()).as(paused.err()).isZero();
      assertThat(paused.out()).startsWith("paused incremental snapshot " + first + " of shop.orders for stream 'orders'");
      assertThat(state(signals, first)).isEqualTo(SignalCollection.PAUSED);
      assertThat(state(signals, second)).as("only the oldest").isEqualTo(SignalCollection.PENDING);

      Result again = execute("snapshot", "resume", "orders", "--config", config.toString(), "--request", second);
      assertThat(again.code()).isEqualTo(Main.BAD_INPUT);
      assertThat(again.err()).isEqualTo("error: incremental snapshot request " + second
          + " is pending: only a request of stream 'orders' that is paused can be resumed");
      Result resumed = execute("snapshot", "resume", "orders", "--config", config.toString());
      assertThat(resumed.code()).as(resumed.err()).isZero();
      assertThat(state(signals, first)).as("not started yet: pending again").isEqualTo(SignalCollection.PENDING);

      Result stopped = execute("snapshot", "stop", "orders", "--config", config.toString(), "--request", second);
      assertThat(stopped.code()).as(stopped.err()).isZero();
      Document stoppedRequest = signals.find(new Document("_id", new org.bson.types.ObjectId(second))).first();
      assertThat(stoppedRequest.getString("state")).isEqualTo(SignalCollection.STOPPED);
      assertThat(stoppedRequest.getString("note")).startsWith("stopped by tidemark snapshot stop at ");
      assertThat(execute("snapshot", "stop", "orders", "--config", config.toString()).code()).isZero();
      assertThat(state(signals, first)).isEqualTo(SignalCollection.STOPPED);

      Result none = execute("snapshot", "pause", "orders", "--config", config.toString());
      assertThat(none.code()).isEqualTo(Main.BAD_INPUT);
      assertThat(none.err()).isEqualTo("error: stream 'orders' has no incremental snapshot request to pause: none is pending or running in ops.signals");
      Result badId = execute("snapshot", "stop", "orders", "--config", config.toString(), "--request", "42");
      assertThat(badId.code()).isEqualTo(Main.BAD_INPUT);
      assertThat(badId.err()).startsWith("error: invalid --request 42: expected a request's id, 24 hexadecimal digits");
      String unknown = new org.bson.types.ObjectId().toHexString();
      Result missing = execute("snapshot", "resume", "orders", "--config", config.toString(), "--request", unknown);
      assertThat(missing.err()).isEqualTo("error: no incremental snapshot request " + unknown + " in ops.signals");
    }
  }

  private static String state(com.mongodb.client.MongoCollection<Document> signals, String id) {
    return signals.find(new Document("_id", new org.bson.types.ObjectId(id))).first().getString("state");
  }
}
