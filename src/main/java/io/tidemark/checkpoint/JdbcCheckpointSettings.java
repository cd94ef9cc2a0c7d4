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
  public final int historySize;

  private JdbcCheckpointSettings(
      boolean createSchema, Duration askTimeout, int snapshotEvery, int keepSnapshots, String journalPlugin, String snapshotPlugin,
      int historySize) {
    this.createSchema = createSchema;
    this.askTimeout = askTimeout;
    this.snapshotEvery = snapshotEvery;
    this.keepSnapshots = keepSnapshots;
    this.journalPlugin = journalPlugin;
    this.snapshotPlugin = snapshotPlugin;
    this.historySize = historySize;
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
        plugin(config, p + "journal-plugin", "akka.persistence.journal.plugin"),
        plugin(config, p + "snapshot-plugin", "akka.persistence.snapshot-store.plugin"),
        ConfigCheck.positiveInt(config, p + "history-size"));
  }

  /** The plugin named by {@code key}, or when that is empty Akka's default one. */
  private static String plugin(Config config, String key, String akkaDefault) {
    String named = config.hasPath(key) ? config.getString(key) : "";
    if (!named.isBlank()) return named;
    String fallback = config.hasPath(akkaDefault) ? config.getString(akkaDefault) : "";
    if (fallback.isBlank()) {
      throw new io.tidemark.TidemarkException(
          "no journal configured for the checkpoints: set " + key + " or " + akkaDefault
              + " (expected an akka-persistence-jdbc plugin such as jdbc-journal, see conf/persistence.conf)");
    }
    return fallback;
  }
}
