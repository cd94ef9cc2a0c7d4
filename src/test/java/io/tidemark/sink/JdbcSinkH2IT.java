package io.tidemark.sink;

import com.zaxxer.hikari.HikariDataSource;

/** The JDBC sink on H2, which every machine has. */
class JdbcSinkH2IT extends JdbcSinkContract {
  @Override
  HikariDataSource newTarget() {
    return pool("jdbc:h2:mem:sink_" + Long.toHexString(System.nanoTime()) + ";DB_CLOSE_DELAY=-1", "sa", "");
  }
}
