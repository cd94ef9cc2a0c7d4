package io.tidemark.service;

import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Settings of a service node ({@code tidemark run}, and {@code demo} and {@code node}, which run it), from {@code tidemark.service}. */
public final class ServiceSettings {
  /** Where the node keeps its streams' checkpoints (a sink that keeps its own, such as exactly-once Kafka, still does). */
  public enum CheckpointStoreKind {
    /** The akka-persistence-jdbc journal: H2 in the data directory, or PostgreSQL. */
    JDBC,
    /** {@code tidemark.checkpoint.sql}: plain fenced rows, by default in the journal's database. */
    SQL,
    /** {@code tidemark.checkpoint.mongodb}, in the watched deployment. */
    MONGODB,
    /** {@code tidemark.checkpoint.redis}. */
    REDIS
  }

  public static final String EXPECTED_STORE = "jdbc, sql, mongodb or redis";

  public final CheckpointStoreKind checkpointStore;
  /** Zero: no progress lines. */
  public final Duration progressInterval;
  /** Whether a node prints a "standby" line for a stream that runs on another node. */
  public final boolean standbyProgress;

  private ServiceSettings(CheckpointStoreKind checkpointStore, Duration progressInterval, boolean standbyProgress) {
    this.checkpointStore = checkpointStore;
    this.progressInterval = progressInterval;
    this.standbyProgress = standbyProgress;
  }

  public static ServiceSettings create(Config config) {
    String p = "tidemark.service.";
    return new ServiceSettings(
        ConfigCheck.oneOf(config, p + "checkpoint-store", CheckpointStoreKind.class, EXPECTED_STORE),
        ConfigCheck.nonNegativeDuration(config, p + "progress-interval"),
        ConfigCheck.flag(config, p + "standby-progress"));
  }
}
