package io.tidemark.service;

import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Settings of the demo ({@code demo}, {@code node}, {@code verify}, {@code workload}), from {@code tidemark.demo}. The
 * demo's stream is {@code conf/demo.conf} run by a {@link ServiceNode}: {@link #serviceKeys()} maps the keys a demo
 * user sets onto the service's.
 */
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
  /** Where the job keeps its checkpoints: {@code tidemark.service.checkpoint-store} of the node it runs. */
  public final ServiceSettings.CheckpointStoreKind checkpointStore;

  private DemoSettings(
      Path dataDir, int mongodbPort, String database, String collection, String stream, int rate, long events, Duration progressInterval, boolean standbyProgress,
      ServiceSettings.CheckpointStoreKind checkpointStore) {
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
        ConfigCheck.oneOf(config, p + "checkpoint-store", ServiceSettings.CheckpointStoreKind.class, ServiceSettings.EXPECTED_STORE));
  }

  /** The materialized view the demo maintains. */
  public String viewCollection() {
    return collection + "_view";
  }

  /** One document per processed event: how often it was delivered. */
  public String ledgerCollection() {
    return collection + "_ledger";
  }

  /**
   * The service's keys as the demo's set them: where the checkpoints are kept and the progress lines
   * ({@code tidemark.service.checkpoint-store}, {@code progress-interval}, {@code standby-progress}).
   */
  public java.util.Map<String, Object> serviceKeys() {
    return java.util.Map.of(
        "tidemark.service.checkpoint-store", checkpointStore.name().toLowerCase(java.util.Locale.ROOT),
        "tidemark.service.progress-interval", progressInterval.toMillis() + "ms",
        "tidemark.service.standby-progress", standbyProgress);
  }
}
