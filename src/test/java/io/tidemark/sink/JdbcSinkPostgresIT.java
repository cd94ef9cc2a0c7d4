package io.tidemark.sink;

import com.zaxxer.hikari.HikariDataSource;
import io.tidemark.Databases;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** The JDBC sink on PostgreSQL, the production target; required in CI. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcSinkPostgresIT extends JdbcSinkContract {
  private final List<String> schemas = new ArrayList<>();

  @BeforeAll
  void requirePostgres() {
    Databases.requirePostgres();
  }

  @AfterAll
  void dropSchemas() {
    schemas.forEach(Databases::dropSchema);
  }

  @Override
  HikariDataSource newTarget() {
    String schema = Databases.createSchema("tidemark_sink");
    schemas.add(schema);
    return pool(Databases.pgUrl(schema), Databases.PG_USER, Databases.PG_PASSWORD);
  }
}
