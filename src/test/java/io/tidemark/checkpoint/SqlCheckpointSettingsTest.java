package io.tidemark.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where the SQL store's database comes from, and bad settings named with what was expected; a password is never shown. */
class SqlCheckpointSettingsTest {
  private static Config with(String hocon) {
    return ConfigFactory.parseString(hocon).withFallback(ConfigFactory.defaultReference()).resolve();
  }

  @Test
  void anEmptyUrlIsTheJournalsDatabaseWithItsUserAndPassword() {
    SqlCheckpointSettings settings = SqlCheckpointSettings.create(ConfigFactory.parseString(String.join("\n",
            "akka.persistence.journal.plugin = jdbc-journal",
            "jdbc-journal.use-shared-db = slick",
            "akka-persistence-jdbc.shared-databases.slick.db { url = \"jdbc:postgresql://db:5432/app?password=hidden\", user = app,"
                + " password = s3cret }"))
        .withFallback(ConfigFactory.load()));
    assertThat(settings.url).isEqualTo("jdbc:postgresql://db:5432/app?password=hidden");
    assertThat(settings.user).isEqualTo("app");
    assertThat(settings.password).isEqualTo("s3cret");
    assertThat(settings.toString()).contains("password=***").doesNotContain("hidden").doesNotContain("s3cret");
  }

  @Test
  void anEmptyUrlWithoutAJournalSaysWhatToSet() {
    assertThatThrownBy(() -> SqlCheckpointSettings.create(with("akka.persistence.journal.plugin = \"\"")))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith("invalid config key tidemark.checkpoint.sql.url = \"\": empty means the journal's database")
        .hasMessageEndingWith("or set tidemark.checkpoint.sql.url to jdbc:h2:... or jdbc:postgresql://...");
  }

  @Test
  void aUrlThatIsNotJdbcOrOfAnotherDatabaseIsRefusedWithoutItsPassword() {
    assertThatThrownBy(() -> SqlCheckpointSettings.create(with("tidemark.checkpoint.sql.url = \"postgres://db/app?password=hidden\"")))
        .isInstanceOf(TidemarkException.class).hasMessageContaining("expected jdbc:h2:... or jdbc:postgresql://...")
        .hasMessageNotContaining("hidden");
    assertThatThrownBy(() -> SqlCheckpointSettings.create(with("tidemark.checkpoint.sql.url = \"jdbc:mysql://db/app?password=hidden\"")))
        .isInstanceOf(TidemarkException.class).hasMessageContaining("expected jdbc:h2:... or jdbc:postgresql://")
        .hasMessageNotContaining("hidden");
  }

  @Test
  void thePasswordIsTheFirstLineOfItsFile(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("password"), "from-the-file\nsecond line\n");
    SqlCheckpointSettings settings = SqlCheckpointSettings.create(with(
        "tidemark.checkpoint.sql { url = \"jdbc:h2:mem:x\", user = sa, password-file = \"" + file.toString().replace("\\", "\\\\") + "\" }"));
    assertThat(settings.password).isEqualTo("from-the-file");
    assertThat(settings.toString()).doesNotContain("from-the-file");
    assertThatThrownBy(() -> SqlCheckpointSettings.create(with(
            "tidemark.checkpoint.sql { url = \"jdbc:h2:mem:x\", password-file = \"" + dir.resolve("missing").toString().replace("\\", "\\\\") + "\" }")))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("cannot read the password file").hasMessageContaining("(tidemark.checkpoint.sql.password-file)")
        .hasMessageContaining("expected a readable file whose first line is the database password");
  }

  @Test
  void aTableNameMustBeOne() {
    assertThatThrownBy(() -> SqlCheckpointSettings.create(with(
            "tidemark.checkpoint.sql { url = \"jdbc:h2:mem:x\", checkpoints-table = \"x; DROP TABLE y\" }")))
        .isInstanceOf(TidemarkException.class)
        .hasMessage("invalid config key tidemark.checkpoint.sql.checkpoints-table = \"x; DROP TABLE y\": expected a table name (letters,"
            + " digits and _, optionally schema.table)");
  }
}
