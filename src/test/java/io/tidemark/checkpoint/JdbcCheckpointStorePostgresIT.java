package io.tidemark.checkpoint;

import com.typesafe.config.Config;
import io.tidemark.Databases;
import io.tidemark.TestConfigs;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;

/** The checkpoint store on PostgreSQL, the production database; required in CI. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JdbcCheckpointStorePostgresIT extends JdbcCheckpointStoreContract {
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
