package io.tidemark.sink;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import io.tidemark.TidemarkException;
import java.util.regex.Pattern;

/** Settings of the effectively-once JDBC sink, from {@code tidemark.sink.jdbc}. */
public final class JdbcSinkSettings {
  private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");

  public final boolean createTables;
  public final String positionsTable;
  public final String epochsTable;

  private JdbcSinkSettings(boolean createTables, String positionsTable, String epochsTable) {
    this.createTables = createTables;
    this.positionsTable = positionsTable;
    this.epochsTable = epochsTable;
  }

  public static JdbcSinkSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static JdbcSinkSettings create(Config config) {
    String p = "tidemark.sink.jdbc.";
    return new JdbcSinkSettings(
        ConfigCheck.flag(config, p + "create-tables"),
        table(config, p + "positions-table"),
        table(config, p + "epochs-table"));
  }

  private static String table(Config config, String key) {
    String name = ConfigCheck.nonEmptyString(config, key);
    if (!TABLE.matcher(name).matches()) {
      throw new TidemarkException("invalid " + key + " = '" + name + "': expected a table name such as tidemark_sink_positions"
          + " or myschema.tidemark_sink_positions (letters, digits and _)");
    }
    return name;
  }
}
