package io.tidemark.cli;

import io.tidemark.checkpoint.JournalSchema;
import java.util.Map;

/** Config for a checkpoint database given by its JDBC URL on the command line: the URL, and the Slick profile and driver of its dialect. */
final class CheckpointDatabase {
  private CheckpointDatabase() {}

  static Map<String, Object> options(String url) {
    boolean postgres = "postgres".equals(JournalSchema.dialect(url));
    String db = "akka-persistence-jdbc.shared-databases.slick.";
    return Map.of(
        db + "db.url", url,
        db + "profile", postgres ? "slick.jdbc.PostgresProfile$" : "slick.jdbc.H2Profile$",
        db + "db.driver", postgres ? "org.postgresql.Driver" : "org.h2.Driver");
  }
}
