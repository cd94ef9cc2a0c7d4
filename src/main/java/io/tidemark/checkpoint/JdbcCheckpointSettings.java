package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Settings of the JDBC checkpoint store, from {@code tidemark.checkpoint.jdbc}. */
public final class JdbcCheckpointSettings {
  public final boolean createSchema;
  public final Duration askTimeout;
  public final int snapshotEvery;
  public final int keepSnapshots;
  public final String journalPlugin;
  public final String snapshotPlugin;

  private JdbcCheckpointSettings(
      boolean createSchema, Duration askTimeout, int snapshotEvery, int keepSnapshots, String journalPlugin, String snapshotPlugin) {
    this.createSchema = createSchema;
    this.askTimeout = askTimeout;
    this.snapshotEvery = snapshotEvery;
    this.keepSnapshots = keepSnapshots;
    this.journalPlugin = journalPlugin;
    this.snapshotPlugin = snapshotPlugin;
  }

  public static JdbcCheckpointSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static JdbcCheckpointSettings create(Config config) {
    String p = "tidemark.checkpoint.jdbc.";
    return new JdbcCheckpointSettings(
        ConfigCheck.flag(config, p + "create-schema"),
        ConfigCheck.positiveDuration(config, p + "ask-timeout"),
        ConfigCheck.positiveInt(config, p + "snapshot-every"),
        ConfigCheck.positiveInt(config, p + "keep-snapshots"),
        ConfigCheck.nonEmptyString(config, p + "journal-plugin"),
        ConfigCheck.nonEmptyString(config, p + "snapshot-plugin"));
  }
}
