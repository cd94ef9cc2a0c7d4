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
}
