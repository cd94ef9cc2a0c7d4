package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.client.MongoClient;
import com.mongodb.client.MongoClients;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code tail}: a configured stream's events from a given time, in the format asked for, with no checkpoint touched. */
class TailCommandIT {
  @Test
  void printsTheStreamsEventsFromAGivenTimeAndSavesNoCheckpoint(@TempDir Path dir) throws Exception {
    try (EmbeddedMongo mongo = EmbeddedMongo.inMemory(EmbeddedSettings.defaults());
        MongoClient client = MongoClients.create(mongo.connectionString())) {
      BsonTimestamp before = client.getDatabase("admin").runCommand(new Document("ping", 1)).get("operationTime", BsonTimestamp.class);
      for (int i = 0; i < 5; i++) client.getDatabase("tail_db").getCollection("orders").insertOne(new Document("_id", i).append("n", i));
      client.getDatabase("tail_db").getCollection("other").insertOne(new Document("_id", 99));
      Path checkpoints = dir.resolve("checkpoints");
      Path config = dir.resolve("app.conf");
      Files.writeString(config, """
          tidemark.mongodb.uri = "%s"
          tidemark.streams.orders {
            source { database = tail_db, collection = orders }
            sink { type = jdbc, url = "jdbc:postgresql://127.0.0.1:1/unused", table = never_written }
          }
          akka-persistence-jdbc.shared-databases.slick.db.url = "jdbc:h2:file:%s"
          """.formatted(mongo.connectionString(), checkpoints));

      PrintStream original = System.out;
      ByteArrayOutputStream captured = new ByteArrayOutputStream();
      StringWriter err = new StringWriter();
      int code;
      System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
      try {
        code = Main.execute(new String[] {"tail", "orders", "--config", config.toString(), "--from-time", Long.toString(before.getTime()),
            "--limit", "5", "--format", "document"}, new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
      } finally {
        System.setOut(original);
      }
      assertThat(code).as(err.toString()).isZero();
      List<BsonDocument> lines = captured.toString(StandardCharsets.UTF_8).lines().filter(line -> line.startsWith("{\"_id\""))
          .map(BsonDocument::parse).toList();
      assertThat(lines).extracting(line -> line.getInt32("_id").getValue()).containsExactly(0, 1, 2, 3, 4);
      assertThat(lines.get(2).getInt32("n").getValue()).as("the document format").isEqualTo(2);
      assertThat(Files.exists(dir.resolve("checkpoints.mv.db"))).as("the checkpoint database was never opened").isFalse();
    }
  }

  @Test
  void anUnknownStreamIsRefusedNamingTheStreamsThereAre(@TempDir Path dir) throws Exception {
    Path config = dir.resolve("app.conf");
    Files.writeString(config, "tidemark.streams.orders { source { database = shop }, sink { type = stdout } }\n");
    StringWriter err = new StringWriter();
    int code = Main.execute(new String[] {"tail", "ordres", "--config", config.toString()},
        new PrintWriter(new StringWriter(), true), new PrintWriter(err, true));
    assertThat(code).isEqualTo(Main.BAD_INPUT);
    assertThat(err.toString().strip()).isEqualTo("error: no stream 'ordres' in " + config + ": expected one of [orders]");
  }
}
