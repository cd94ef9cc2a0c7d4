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
  public final int maxEventBytes;
  public final int compactEveryCommits;
  public final boolean testCommands;
  public final boolean replicaSet;

  private EmbeddedSettings(
      boolean commitBeforeAck, int eventLoops, Duration maxAwaitTime, long oplogMaxEntries, long oplogMaxBytes,
      int maxEventBytes, int compactEveryCommits, boolean testCommands, boolean replicaSet) {
    this.commitBeforeAck = commitBeforeAck;
    this.eventLoops = eventLoops;
    this.maxAwaitTime = maxAwaitTime;
    this.oplogMaxEntries = oplogMaxEntries;
    this.oplogMaxBytes = oplogMaxBytes;
    this.maxEventBytes = maxEventBytes;
    this.compactEveryCommits = compactEveryCommits;
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
        ConfigCheck.nonNegativeInt(config, p + "max-event-bytes"),
        ConfigCheck.positiveInt(config, p + "compact-every-commits"),
        ConfigCheck.flag(config, p + "test-commands"),
        true);
  }

  public static EmbeddedSettings defaults() {
    return new EmbeddedSettings(true, 32, Duration.ofMillis(250), 500_000, 0, 16 * 1024 * 1024, 200, false, true);
  }

  public EmbeddedSettings withCommitBeforeAck(boolean on) {
    return new EmbeddedSettings(on, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, maxEventBytes, compactEveryCommits, testCommands, replicaSet);
  }

  public EmbeddedSettings withOplogMaxEntries(long entries) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, entries, oplogMaxBytes, maxEventBytes, compactEveryCommits, testCommands, replicaSet);
  }

  public EmbeddedSettings withOplogMaxBytes(long bytes) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, bytes, maxEventBytes, compactEveryCommits, testCommands, replicaSet);
  }

  public EmbeddedSettings withMaxEventBytes(int bytes) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, bytes, compactEveryCommits, testCommands, replicaSet);
  }

  /** Accept {@code configureFailPoint}, as a mongod started with enableTestCommands=1 does. */
  public EmbeddedSettings withTestCommands(boolean on) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, maxEventBytes, compactEveryCommits, on, replicaSet);
  }

  /** Off: behave as a standalone mongod, which refuses change streams (40573). */
  public EmbeddedSettings withReplicaSet(boolean on) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, oplogMaxEntries, oplogMaxBytes, maxEventBytes, compactEveryCommits, testCommands, on);
  }
}
