package io.tidemark.checkpoint;

import com.typesafe.config.Config;
import io.tidemark.Databases;
import io.tidemark.TestConfigs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The checkpoint contract on PostgreSQL, the production database; required in CI. */
class JdbcCheckpointStorePostgresIT extends JdbcCheckpointStoreFixture {
  private String schema;
  private Config journal;

  @BeforeAll
  void createSchema() {
    Databases.requirePostgres();
    schema = Databases.createSchema("tidemark_it");
    journal = TestConfigs.journal(
        Databases.pgUrl(schema), "slick.jdbc.PostgresProfile$", "org.postgresql.Driver", Databases.PG_USER, Databases.PG_PASSWORD);
  }

  @AfterAll
  void dropSchema() {
    if (schema != null) Databases.dropSchema(schema);
  }

  @Override
  Config journal() {
    return journal;
  }
}
