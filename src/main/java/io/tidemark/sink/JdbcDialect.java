package io.tidemark.sink;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Locale;

/**
 * What the JDBC sinks' tables need to differ in, per database: the type of a long text, and how
 * long a key column may be. MariaDB and MySQL (InnoDB) refuse an index longer than 3072 bytes, and
 * a utf8mb4 character counts 4 bytes there, so their key columns are shorter: the positions table's
 * {@code (stream VARCHAR(255), document_key VARCHAR(512))} is 3,068 bytes, the service's upsert
 * table's {@code id VARCHAR(768)} 3,072. Elsewhere a key is up to 2,048 characters.
 */
enum JdbcDialect {
  H2("CHARACTER LARGE OBJECT", 2048, 2048),
  POSTGRESQL("TEXT", 2048, 2048),
  /** MariaDB and MySQL: the InnoDB index limit of 3072 bytes, 4 bytes per utf8mb4 character. */
  MYSQL("LONGTEXT", 512, 768),
  /** Any other database: plain SQL types, the long key columns. */
  OTHER("TEXT", 2048, 2048);

  /** The type of a column holding a document or an event as JSON, of any length. */
  final String text;
  /** The longest documentKey (canonical extended JSON, in characters) the positions table takes. */
  final int positionKeyLength;
  /** The longest documentKey (relaxed extended JSON, in characters) the service's upsert table takes as its id. */
  final int rowKeyLength;

  JdbcDialect(String text, int positionKeyLength, int rowKeyLength) {
    this.text = text;
    this.positionKeyLength = positionKeyLength;
    this.rowKeyLength = rowKeyLength;
  }

  static JdbcDialect of(Connection connection) throws SQLException {
    String product = connection.getMetaData().getDatabaseProductName().toLowerCase(Locale.ROOT);
    if (product.contains("h2")) return H2;
    if (product.contains("postgresql")) return POSTGRESQL;
    if (product.contains("mariadb") || product.contains("mysql")) return MYSQL;
    return OTHER;
  }
}
