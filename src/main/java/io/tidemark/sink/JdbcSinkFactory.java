package io.tidemark.sink;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.tidemark.TidemarkException;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * {@code sink { type = jdbc, url, user, password, table, mode = upsert | append }}: the events into a
 * table through the effectively-once {@link JdbcSink} (each event's write and the sink's record of it
 * in one transaction, fenced per consumer).
 * <ul>
 *   <li>{@code upsert}: one row per document, {@code (id, document)}: {@code id} the documentKey as
 *       relaxed extended JSON, {@code document} the event in the stream's format (with
 *       {@code format = document}: the document); a delete deletes the row; an event the format
 *       writes nothing for (an update without its full document) leaves the row;
 *   <li>{@code append}: one row per event, {@code (document_key, operation, cluster_time,
 *       resume_token, event)}.
 * </ul>
 * Written with plain {@code UPDATE} / {@code INSERT} / {@code DELETE}, so any database the JDBC sink
 * runs on takes it (tested on H2 and PostgreSQL). Each attach (a consumer starting) makes a new
 * {@code JdbcSink}, which takes a new sink epoch: an older consumer of the stream is fenced.
 */
final class JdbcSinkFactory implements SinkFactory {
  private static final Pattern TABLE = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?");
  private static final org.bson.json.JsonWriterSettings RELAXED =
      org.bson.json.JsonWriterSettings.builder().outputMode(org.bson.json.JsonMode.RELAXED).build();

  @Override
  public String type() {
    return "jdbc";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of(
        "url", "user", "password", "table", "mode", "create-table", "pool-size", "create-tables", "positions-table", "epochs-table"));
    String url = block.string("url");
    if (!url.startsWith("jdbc:")) {
      throw new TidemarkException("invalid config key " + block.key("url") + ": expected a JDBC URL such as jdbc:postgresql://host:5432/db");
    }
    String table = block.string("table");
    if (!TABLE.matcher(table).matches()) {
      throw new TidemarkException("invalid config key " + block.key("table") + " = \"" + table
          + "\": expected a table name (letters, digits and _, optionally schema.table)");
    }
    boolean upsert = block.oneOf("mode", "upsert", "append").equals("upsert");
    EventFormat format = block.format();
    JdbcSinkSettings settings = JdbcSinkSettings.create(block.config().atPath("tidemark.sink.jdbc"));
    boolean createTable = block.flag("create-table");
    HikariConfig pool = new HikariConfig();
    pool.setJdbcUrl(url);
    pool.setUsername(block.text("user"));
    pool.setPassword(block.text("password"));
    pool.setMaximumPoolSize(block.positiveInt("pool-size"));
    pool.setInitializationFailTimeout(-1); // connect when the stream runs here, not when the node starts
    pool.setPoolName("tidemark-sink-" + context.stream());
    return new Configured(context, settings, pool, table, upsert, format, createTable);
  }

  private static final class Configured implements ConfiguredSink {
    private final SinkContext context;
    private final JdbcSinkSettings settings;
    private final HikariConfig poolConfig;
    private final String table;
    private final boolean upsert;
    private final EventFormat format;
    private final boolean createTable;
    private final DebeziumEnvelope debezium;
    private HikariDataSource pool;
    private volatile boolean tableReady;

    Configured(SinkContext context, JdbcSinkSettings settings, HikariConfig pool, String table, boolean upsert, EventFormat format,
        boolean createTable) {
      this.context = context;
      this.settings = settings;
      this.poolConfig = pool;
      this.table = table;
      this.upsert = upsert;
      this.format = format;
      this.createTable = createTable;
      this.debezium = DebeziumEnvelope.create(context.stream(), null);
    }

    @Override
    public String guarantee() {
      return "effectively-once";
    }

    @Override
    public synchronized PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
      if (pool == null) pool = new HikariDataSource(poolConfig);
      JdbcSink sink = JdbcSink.create(pool, context.stream(),
          context.system().dispatchers().lookup(akka.actor.typed.DispatcherSelector.blocking()), settings);
      // Each event as the stream's stages and transforms left it (handle(...) would give the
      // handler the event as the source read it).
      io.tidemark.pipeline.EventHandler handler = sink.handler(this::write);
      return stages.mapAsync(event -> handler.handle(context.stream(), event));
    }

    private void write(Connection connection, ChangeEnvelope event) throws SQLException {
      if (createTable && !tableReady) createTable(connection);
      if (event.documentKey() == null) return; // not about one document (drop, rename, invalidate)
      String key = event.documentKey().toJson(RELAXED);
      if (!upsert) {
        try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + table
            + " (document_key, operation, cluster_time, resume_token, event) VALUES (?, ?, ?, ?, ?)")) {
          insert.setString(1, key);
          insert.setString(2, event.operationType());
          insert.setLong(3, event.clusterTime() == null ? 0L : event.clusterTime().getValue());
          insert.setString(4, event.resumeToken() == null ? null : event.resumeToken().toJson(RELAXED));
          insert.setString(5, format.format(event, debezium));
          insert.executeUpdate();
        }
        return;
      }
      if (EventFormat.isDelete(event)) {
        try (PreparedStatement delete = connection.prepareStatement("DELETE FROM " + table + " WHERE id = ?")) {
          delete.setString(1, key);
          delete.executeUpdate();
        }
        return;
      }
      String value = format.format(event, debezium);
      if (value == null) return;
      try (PreparedStatement update = connection.prepareStatement("UPDATE " + table + " SET document = ? WHERE id = ?")) {
        update.setString(1, value);
        update.setString(2, key);
        if (update.executeUpdate() > 0) return;
      }
      try (PreparedStatement insert = connection.prepareStatement("INSERT INTO " + table + " (id, document) VALUES (?, ?)")) {
        insert.setString(1, key);
        insert.setString(2, value);
        insert.executeUpdate();
      }
    }

    /** The stream's table; its id as long as a primary key may be ({@link JdbcDialect}: 768 characters on MariaDB, 2,048 elsewhere). */
    private void createTable(Connection connection) throws SQLException {
      JdbcDialect dialect = JdbcDialect.of(connection);
      try (Statement ddl = connection.createStatement()) {
        ddl.execute(upsert
            ? "CREATE TABLE IF NOT EXISTS " + table + " (id VARCHAR(" + dialect.rowKeyLength + ") NOT NULL PRIMARY KEY, document "
                + dialect.text + ")"
            : "CREATE TABLE IF NOT EXISTS " + table + " (document_key VARCHAR(2048) NOT NULL, operation VARCHAR(32) NOT NULL,"
                + " cluster_time BIGINT NOT NULL, resume_token VARCHAR(1024), event " + dialect.text + ")");
      }
      tableReady = true;
    }

    @Override
    public synchronized void close() {
      if (pool != null) pool.close();
    }
  }
}
