package io.tidemark.checkpoint;

import io.tidemark.Databases;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The checkpoint contract on the plain SQL store on PostgreSQL, the production database; required in CI. */
class SqlCheckpointStorePostgresIT extends SqlCheckpointStoreFixture {
  private String schema;

  @BeforeAll
  void createSchema() {
    Databases.requirePostgres();
    schema = Databases.createSchema("tidemark_sql_it");
  }

  @AfterAll
  void dropSchema() {
    if (schema != null) Databases.dropSchema(schema);
  }

  @Override
  String url() {
    return Databases.pgUrl(schema);
  }

  @Override
  String user() {
    return Databases.PG_USER;
  }

  @Override
  String password() {
    return Databases.PG_PASSWORD;
  }
}
