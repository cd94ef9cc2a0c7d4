package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Settings of the MongoDB checkpoint store, from {@code tidemark.checkpoint.mongodb}. */
public final class MongoCheckpointSettings {
  public final String database;
  public final String collection;
  public final int historySize;
  public final Duration timeout;

  private MongoCheckpointSettings(String database, String collection, int historySize, Duration timeout) {
    this.database = database;
    this.collection = collection;
    this.historySize = historySize;
    this.timeout = timeout;
  }

  public static MongoCheckpointSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static MongoCheckpointSettings create(Config config) {
    String p = "tidemark.checkpoint.mongodb.";
    return new MongoCheckpointSettings(
        ConfigCheck.nonEmptyString(config, p + "database"),
        ConfigCheck.nonEmptyString(config, p + "collection"),
        ConfigCheck.positiveInt(config, p + "history-size"),
        ConfigCheck.positiveDuration(config, p + "timeout"));
  }

  /** The same settings with checkpoints in another database. */
  public MongoCheckpointSettings withDatabase(String database) {
    return new MongoCheckpointSettings(database, collection, historySize, timeout);
  }

  public MongoCheckpointSettings withCollection(String collection) {
    return new MongoCheckpointSettings(database, collection, historySize, timeout);
  }
}
