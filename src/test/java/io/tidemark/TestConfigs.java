package io.tidemark;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;

/** Configuration pieces the tests combine. */
public final class TestConfigs {
  private TestConfigs() {}

  /** akka-persistence-jdbc on an in-memory H2 database that lives as long as the JVM. */
  public static Config h2Journal(String database) {
    return journal("jdbc:h2:mem:" + database + ";DB_CLOSE_DELAY=-1", "slick.jdbc.H2Profile$", "org.h2.Driver", "sa", "");
  }

  /** akka-persistence-jdbc on an H2 file database. */
  public static Config h2FileJournal(String path) {
    return journal("jdbc:h2:file:" + path + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0", "slick.jdbc.H2Profile$", "org.h2.Driver", "sa", "");
  }

  public static Config journal(String url, String profile, String driver, String user, String password) {
    return ConfigFactory.parseString(
        String.join("\n",
            "akka.persistence.journal.plugin = jdbc-journal",
            "tidemark.checkpoint.jdbc.ask-timeout = 3s",
            "akka.persistence.snapshot-store.plugin = jdbc-snapshot-store",
            "jdbc-journal.use-shared-db = slick",
            "jdbc-snapshot-store.use-shared-db = slick",
            "jdbc-read-journal.use-shared-db = slick",
            "akka-persistence-jdbc.shared-databases.slick {",
            "  profile = \"" + profile + "\"",
            "  db {",
            "    url = \"" + url + "\"",
            "    user = \"" + user + "\"",
            "    password = \"" + password + "\"",
            "    driver = \"" + driver + "\"",
            "    numThreads = 4",
            "    maxConnections = 4",
            "    minConnections = 1",
            "    queueSize = 1000",
            "  }",
            "}"));
  }
}
