package io.tidemark.embedded;

import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Settings of the embedded MongoDB, from {@code tidemark.embedded}. */
public final class EmbeddedSettings {
  public final boolean commitBeforeAck;
  public final int eventLoops;
  public final Duration maxAwaitTime;
  public final long oplogMaxEntries;
  public final long oplogMaxBytes;
  public final Duration oplogMaxAge;
  public final Duration oplogMinRetention;
  public final int maxEventBytes;
  public final int compactEveryCommits;
  public final int cacheMegabytes;
  public final boolean testCommands;
  public final boolean replicaSet;

  private EmbeddedSettings(
      boolean commitBeforeAck, int eventLoops, Duration maxAwaitTime, long oplogMaxEntries, long oplogMaxBytes,
      Duration oplogMaxAge, Duration oplogMinRetention, int maxEventBytes, int compactEveryCommits, int cacheMegabytes,
      boolean testCommands, boolean replicaSet) {
    this.commitBeforeAck = commitBeforeAck;
    this.eventLoops = eventLoops;
    this.maxAwaitTime = maxAwaitTime;
    this.oplogMaxEntries = oplogMaxEntries;
    this.oplogMaxBytes = oplogMaxBytes;
    this.oplogMaxAge = oplogMaxAge;
    this.oplogMinRetention = oplogMinRetention;
    this.maxEventBytes = maxEventBytes;
    this.compactEveryCommits = compactEveryCommits;
    this.cacheMegabytes = cacheMegabytes;
    this.testCommands = testCommands;
    this.replicaSet = replicaSet;
  }

  public static EmbeddedSettings create(Config config) {
    String p = "tidemark.embedded.";
    return new EmbeddedSettings(
        ConfigCheck.flag(config, p + "commit-before-ack"),
        ConfigCheck.positiveInt(config, p + "event-loops"),
        ConfigCheck.positiveDuration(config, p + "max-await-time"),
        ConfigCheck.positiveLong(config, p + "oplog-max-entries"),
        ConfigCheck.nonNegativeLong(config, p + "oplog-max-bytes"),
        ConfigCheck.nonNegativeDuration(config, p + "oplog-max-age"),
        ConfigCheck.nonNegativeDuration(config, p + "oplog-min-retention"),
        ConfigCheck.nonNegativeInt(config, p + "max-event-bytes"),
        ConfigCheck.positiveInt(config, p + "compact-every-commits"),
        ConfigCheck.positiveInt(config, p + "cache-size-mb"),
        ConfigCheck.flag(config, p + "test-commands"),
        true);
  }

  /** The defaults of reference.conf. */
  public static EmbeddedSettings defaults() {
    return new EmbeddedSettings(true, 32, Duration.ofMillis(250), 500_000, 256L * 1024 * 1024, Duration.ZERO, Duration.ZERO,
        16 * 1024 * 1024, 200, 16, false, true);
  }

  public EmbeddedSettings withCommitBeforeAck(boolean on) {
    return new EmbeddedSettings(on, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, oplogMaxAge, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  public EmbeddedSettings withOplogMaxEntries(long entries) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, entries, oplogMaxBytes, oplogMaxAge, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  /** 0: no cap in bytes. */
  public EmbeddedSettings withOplogMaxBytes(long bytes) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, bytes, oplogMaxAge, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  /** Entries older than this are truncated; zero: no cap by age. */
  public EmbeddedSettings withOplogMaxAge(Duration age) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, age, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  /** Entries younger than this are kept even beyond the caps, as {@code oplogMinRetentionHours} keeps them; zero: none. */
  public EmbeddedSettings withOplogMinRetention(Duration retention) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, oplogMaxAge, retention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  public EmbeddedSettings withMaxEventBytes(int bytes) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, oplogMaxAge, oplogMinRetention,
        bytes, compactEveryCommits, cacheMegabytes, testCommands, replicaSet);
  }

  /** Accept {@code configureFailPoint}, as a mongod started with enableTestCommands=1 does. */
  public EmbeddedSettings withTestCommands(boolean on) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, oplogMaxAge, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, on, replicaSet);
  }

  /** Off: behave as a standalone mongod, which refuses change streams (40573). */
  public EmbeddedSettings withReplicaSet(boolean on) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, oplogMaxAge, oplogMinRetention,
        maxEventBytes, compactEveryCommits, cacheMegabytes, testCommands, on);
  }
}
