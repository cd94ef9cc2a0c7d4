package io.tidemark.service;

import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.nio.file.Path;
import java.time.Duration;

/** Settings of the demo job, from {@code tidemark.demo}. */
public final class DemoSettings {
  public final Path dataDir;
  public final int mongodbPort;
  public final String database;
  public final String collection;
  public final String stream;
  public final int rate;
  public final long events;
  /** Zero: no progress line. */
  public final Duration progressInterval;
  /** Whether a node on which the stream does not run prints its "standby" progress line. */
  public final boolean standbyProgress;
  /** Where the job keeps its checkpoints. */
  public enum CheckpointStoreKind {
    /** The akka-persistence-jdbc journal: H2 in the data directory, or PostgreSQL. */
    JDBC,
    /** {@code tidemark.checkpoint.mongodb}, in the watched deployment. */
    MONGODB,
    /** {@code tidemark.checkpoint.redis}. */
    REDIS
  }

  public final CheckpointStoreKind checkpointStore;

  private DemoSettings(
      Path dataDir, int mongodbPort, String database, String collection, String stream, int rate, long events, Duration progressInterval, boolean standbyProgress,
      CheckpointStoreKind checkpointStore) {
    this.dataDir = dataDir;
    this.mongodbPort = mongodbPort;
    this.database = database;
    this.collection = collection;
    this.stream = stream;
    this.rate = rate;
    this.events = events;
    this.progressInterval = progressInterval;
    this.standbyProgress = standbyProgress;
    this.checkpointStore = checkpointStore;
  }

  public static DemoSettings create(Config config) {
    String p = "tidemark.demo.";
    return new DemoSettings(
        Path.of(ConfigCheck.nonEmptyString(config, p + "data-dir")).toAbsolutePath().normalize(),
        ConfigCheck.nonNegativeInt(config, p + "mongodb-port"),
        ConfigCheck.nonEmptyString(config, p + "database"),
        ConfigCheck.nonEmptyString(config, p + "collection"),
        ConfigCheck.nonEmptyString(config, p + "stream"),
        ConfigCheck.positiveInt(config, p + "rate"),
        ConfigCheck.nonNegativeLong(config, p + "events"),
        ConfigCheck.nonNegativeDuration(config, p + "progress-interval"),
        ConfigCheck.flag(config, p + "standby-progress"),
        ConfigCheck.oneOf(config, p + "checkpoint-store", CheckpointStoreKind.class, "jdbc, mongodb or redis"));
  }

  /** The materialized view the demo maintains. */
  public String viewCollection() {
    return collection + "_view";
  }

  /** One document per processed event: how often it was delivered. */
  public String ledgerCollection() {
    return collection + "_ledger";
  }
}
