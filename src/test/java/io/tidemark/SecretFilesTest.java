package io.tidemark;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SecretFilesTest {
  private static final String SECRET = "s3cret-pass";

  private static final Config CONF = ConfigFactory.parseString(String.join("\n",
      "db.password = \"\"",
      "db.password = ${?TIDEMARK_JDBC_PASSWORD}",
      "db.url = \"jdbc:h2:file:\"${data-dir}\"/checkpoints\"",
      "data-dir = ./data",
      "data-dir = ${?TIDEMARK_DATA_DIR}",
      "mongodb.uri = ${TIDEMARK_MONGODB_URI}"));

  @Test
  void aSecretFileStandsInForItsVariableWithoutTheTrailingLineBreak(@TempDir Path dir) throws Exception {
    Path password = Files.writeString(dir.resolve("jdbc-password"), SECRET + "\n");
    Path uri = Files.writeString(dir.resolve("mongodb-uri"), "mongodb://app:" + SECRET + "@mongo-1:27017/?replicaSet=rs0\r\n");
    Config resolved = SecretFiles.resolve(CONF, Map.of(
        "TIDEMARK_JDBC_PASSWORD_FILE", password.toString(),
        "TIDEMARK_MONGODB_URI_FILE", uri.toString(),
        "TIDEMARK_DATA_DIR", "/var/lib/tidemark"));
    assertThat(resolved.getString("db.password")).isEqualTo(SECRET);
    assertThat(resolved.getString("mongodb.uri")).isEqualTo("mongodb://app:" + SECRET + "@mongo-1:27017/?replicaSet=rs0");
    assertThat(resolved.getString("db.url")).as("substitutions within the config still resolve").isEqualTo("jdbc:h2:file:/var/lib/tidemark/checkpoints");
    assertThat(resolved.hasPath("TIDEMARK_JDBC_PASSWORD")).as("the environment is not merged into the config").isFalse();
  }

  @Test
  void plainVariablesWorkAsBeforeAndOptionalOnesFallBack() {
    Config resolved = SecretFiles.resolve(CONF, Map.of("TIDEMARK_MONGODB_URI", "mongodb://mongo-1:27017"));
    assertThat(resolved.getString("mongodb.uri")).isEqualTo("mongodb://mongo-1:27017");
    assertThat(resolved.getString("db.password")).isEmpty();
    assertThat(resolved.getString("data-dir")).isEqualTo("./data");
  }

  @Test
  void theProcessEnvironmentIsNotConsultedBehindTheGivenOne() {
    // PATH is set in any test run; a required ${PATH} must not resolve from the real environment.
    Config needsPath = ConfigFactory.parseString("p = ${PATH}");
    assertThatThrownBy(() -> SecretFiles.resolve(needsPath, Map.of())).hasMessageContaining("PATH");
  }

  @Test
  void aMissingFileIsNamedWithItsVariable(@TempDir Path dir) {
    String missing = dir.resolve("nope").toString();
    assertThatThrownBy(() -> SecretFiles.environment(Map.of("TIDEMARK_JDBC_PASSWORD_FILE", missing)))
        .isInstanceOf(TidemarkException.class)
        .hasMessage("TIDEMARK_JDBC_PASSWORD_FILE names " + missing + ", which does not exist: expected a readable file"
            + " holding the value of TIDEMARK_JDBC_PASSWORD (such as a Docker secret in /run/secrets)");
  }

  @Test
  void anUnreadableOrEmptyFileIsRefusedWithoutItsContent(@TempDir Path dir) throws Exception {
    Path directory = Files.createDirectory(dir.resolve("a-directory"));
    assertThatThrownBy(() -> SecretFiles.environment(Map.of("TIDEMARK_JDBC_PASSWORD_FILE", directory.toString())))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith("TIDEMARK_JDBC_PASSWORD_FILE names " + directory + ", which cannot be read")
        .hasMessageContaining("a directory");
    Path empty = Files.writeString(dir.resolve("empty"), "\n");
    assertThatThrownBy(() -> SecretFiles.environment(Map.of("TIDEMARK_JDBC_PASSWORD_FILE", empty.toString())))
        .hasMessageStartingWith("TIDEMARK_JDBC_PASSWORD_FILE names " + empty + ", which is empty");
    assertThatThrownBy(() -> SecretFiles.environment(Map.of("TIDEMARK_JDBC_PASSWORD_FILE", " ")))
        .hasMessageStartingWith("TIDEMARK_JDBC_PASSWORD_FILE is empty: expected a readable file");
  }

  @Test
  void aVariableSetBothWaysIsAmbiguous(@TempDir Path dir) throws Exception {
    Path password = Files.writeString(dir.resolve("p"), SECRET);
    assertThatThrownBy(() -> SecretFiles.environment(Map.of(
            "TIDEMARK_JDBC_PASSWORD", SECRET, "TIDEMARK_JDBC_PASSWORD_FILE", password.toString())))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith("both TIDEMARK_JDBC_PASSWORD and TIDEMARK_JDBC_PASSWORD_FILE are set")
        .message().doesNotContain(SECRET);
  }

  @Test
  void onlyTidemarkVariablesNameSecretFiles() {
    // Other software's *_FILE variables are not Tidemark's to read (and may name files we cannot read).
    Map<String, String> env = SecretFiles.environment(Map.of("HISTFILE_FILE", "/nonexistent", "TIDEMARK_FILE", "/nonexistent"));
    assertThat(env).containsOnlyKeys("HISTFILE_FILE", "TIDEMARK_FILE");
  }
}
