package io.tidemark.source;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.Objects;

/**
 * Incremental snapshots on demand, while the stream runs: where the requests are (the signal
 * collection; none: off), how many documents a chunk reads, and how often an idle stream looks for
 * a request. From {@code tidemark.pipeline.incremental-snapshot}.
 */
public final class IncrementalSnapshotSettings {
  /** The signal collection, {@code "<db>.<collection>"} or a collection of the stream's database; empty: off. */
  public final String signalCollection;
  /** Documents read per chunk, in {@code _id} order. */
  public final int chunkSize;
  /** How often a stream without a request in progress looks for one, and how often it reads the state of the one in progress. */
  public final Duration pollInterval;

  private IncrementalSnapshotSettings(String signalCollection, int chunkSize, Duration pollInterval) {
    this.signalCollection = Objects.requireNonNull(signalCollection, "signalCollection").trim();
    if (chunkSize < 1) throw new TidemarkException("incremental snapshot chunk size must be at least 1, was " + chunkSize);
    this.chunkSize = chunkSize;
    this.pollInterval = Objects.requireNonNull(pollInterval, "pollInterval");
  }

  public static IncrementalSnapshotSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static IncrementalSnapshotSettings create(Config config) {
    String p = "tidemark.pipeline.incremental-snapshot.";
    String signals = config.hasPath(p + "signal-collection") ? config.getString(p + "signal-collection") : "";
    return new IncrementalSnapshotSettings(
        signals, ConfigCheck.positiveInt(config, p + "chunk-size"), ConfigCheck.positiveDuration(config, p + "poll-interval"));
  }

  /** Off: no signal collection. */
  public static IncrementalSnapshotSettings defaults() {
    return new IncrementalSnapshotSettings("", 1024, Duration.ofSeconds(1));
  }

  public boolean enabled() {
    return !signalCollection.isEmpty();
  }

  /** Requests from this collection ({@code "<db>.<collection>"}, or a collection of the stream's database). */
  public IncrementalSnapshotSettings withSignalCollection(String collection) {
    return new IncrementalSnapshotSettings(collection, chunkSize, pollInterval);
  }

  public IncrementalSnapshotSettings withChunkSize(int chunkSize) {
    return new IncrementalSnapshotSettings(signalCollection, chunkSize, pollInterval);
  }

  public IncrementalSnapshotSettings withPollInterval(Duration interval) {
    return new IncrementalSnapshotSettings(signalCollection, chunkSize, interval);
  }

  /** The signal collection's namespace for a stream reading {@code database} (null: a deployment). */
  public com.mongodb.MongoNamespace namespace(String database) {
    if (signalCollection.contains(".")) return new com.mongodb.MongoNamespace(signalCollection);
    if (database == null) {
      throw new TidemarkException("tidemark.pipeline.incremental-snapshot.signal-collection: a stream over the whole deployment needs"
          + " \"<database>.<collection>\", was \"" + signalCollection + "\"");
    }
    return new com.mongodb.MongoNamespace(database, signalCollection);
  }
}
