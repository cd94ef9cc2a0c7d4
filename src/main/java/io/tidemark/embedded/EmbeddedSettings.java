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
  public final int compactEveryCommits;

  private EmbeddedSettings(
      boolean commitBeforeAck, int eventLoops, Duration maxAwaitTime, long oplogMaxEntries, int compactEveryCommits) {
    this.commitBeforeAck = commitBeforeAck;
    this.eventLoops = eventLoops;
    this.maxAwaitTime = maxAwaitTime;
    this.oplogMaxEntries = oplogMaxEntries;
    this.compactEveryCommits = compactEveryCommits;
  }

  public static EmbeddedSettings create(Config config) {
    String p = "tidemark.embedded.";
    return new EmbeddedSettings(
        ConfigCheck.flag(config, p + "commit-before-ack"),
        ConfigCheck.positiveInt(config, p + "event-loops"),
        ConfigCheck.positiveDuration(config, p + "max-await-time"),
        ConfigCheck.positiveLong(config, p + "oplog-max-entries"),
        ConfigCheck.positiveInt(config, p + "compact-every-commits"));
  }

  public static EmbeddedSettings defaults() {
    return new EmbeddedSettings(true, 32, Duration.ofMillis(250), 500_000, 200);
  }

  public EmbeddedSettings withCommitBeforeAck(boolean on) {
    return new EmbeddedSettings(on, eventLoops, maxAwaitTime, oplogMaxEntries, compactEveryCommits);
  }

  public EmbeddedSettings withOplogMaxEntries(long entries) {
    return new EmbeddedSettings(commitBeforeAck, eventLoops, maxAwaitTime, entries, compactEveryCommits);
  }
}
