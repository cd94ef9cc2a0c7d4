package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import com.zaxxer.hikari.HikariDataSource;
import io.tidemark.Await;
import io.tidemark.Databases;
import io.tidemark.source.Envelopes;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * The JDBC sink on MariaDB (InnoDB, utf8mb4), whose primary keys are at most 3072 bytes; required in
 * CI. Each pool is on a database of its own.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcSinkMariaDbIT extends JdbcSinkContract {
  private final List<String> databases = new ArrayList<>();

  @BeforeAll
  void requireMariaDb() {
    Databases.requireMariaDb();
  }

  @AfterAll
  void dropDatabases() {
    databases.forEach(Databases::dropMariaDbDatabase);
  }

  @Override
  HikariDataSource newTarget() {
    String database = Databases.createMariaDbDatabase("tidemark_sink");
    databases.add(database);
    return pool(Databases.mariaDbUrl(database), Databases.MARIADB_USER, Databases.MARIADB_PASSWORD);
  }

  /** {"_id": "..."} of 512 characters (1,024 bytes of é) fits the positions table; one more is refused, naming the limit. */
  @Test
  void aDocumentKeyOf512CharactersIsKeptAndALongerOneRefusedNamingTheLimit() throws Exception {
    ExecutorService blocking = Executors.newSingleThreadExecutor();
    try (HikariDataSource target = newTarget()) {
      JdbcSink sink = JdbcSink.create(target, "long-keys", blocking, JdbcSinkSettings.create(ConfigFactory.load()));
      String longest = "é".repeat(512 - "{\"_id\": \"\"}".length());
      sink.handler((connection, event) -> {}).handle("long-keys", Envelopes.event(1, 1, longest)).toCompletableFuture()
          .get(30, TimeUnit.SECONDS);
      assertThat(sink.applied()).isEqualTo(1);

      assertThat(Await.failureOf(sink.handler((connection, event) -> {}).handle("long-keys", Envelopes.event(2, 2, longest + "é"))))
          .isInstanceOf(SinkUnavailableException.class)
          .hasMessageContaining("could not write event #2")
          .hasMessageContaining("512 on MariaDB and MySQL");
      try (Connection connection = target.getConnection(); Statement select = connection.createStatement();
          ResultSet row = select.executeQuery("SELECT CHAR_LENGTH(document_key) FROM tidemark_sink_positions WHERE stream = 'long-keys'")) {
        assertThat(row.next()).isTrue();
        assertThat(row.getInt(1)).isEqualTo(512);
        assertThat(row.next()).as("the refused event left no position").isFalse();
      }
    } finally {
      blocking.shutdownNow();
    }
  }
}
