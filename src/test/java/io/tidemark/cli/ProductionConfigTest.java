package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import io.tidemark.service.ServiceConfig;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.Config;
import io.tidemark.TidemarkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** conf/production.conf as `node --config conf/production.conf` loads it, from the environment alone. */
class ProductionConfigTest {
  private static final Path PRODUCTION = Path.of("conf", "production.conf");

  private static Map<String, String> minimal() {
    Map<String, String> env = new HashMap<>();
    env.put("TIDEMARK_MONGODB_URI", "mongodb://db-1:27017,db-2:27017/?replicaSet=rs0");
    env.put("TIDEMARK_JDBC_URL", "jdbc:postgresql://pg:5432/tidemark");
    env.put("TIDEMARK_JDBC_USER", "tidemark");
    env.put("TIDEMARK_JDBC_PASSWORD", "pw");
    env.put("TIDEMARK_REMOTE_HOST", "node-a.internal");
    env.put("TIDEMARK_SEED_NODE_1", "akka://tidemark@node-a.internal:25520");
    return env;
  }

  @Test
  void everyAddressAndCredentialComesFromTheEnvironment() {
    Config config = ServiceConfig.load(PRODUCTION, Map.of(), minimal());
    assertThat(config.getString("tidemark.mongodb.uri")).isEqualTo("mongodb://db-1:27017,db-2:27017/?replicaSet=rs0");
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.url")).isEqualTo("jdbc:postgresql://pg:5432/tidemark");
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.driver")).isEqualTo("org.postgresql.Driver");
    assertThat(config.getString("akka.remote.artery.canonical.hostname")).isEqualTo("node-a.internal");
    assertThat(config.getInt("akka.remote.artery.canonical.port")).isEqualTo(25520);
    assertThat(config.getString("akka.remote.artery.bind.hostname")).as("empty: the canonical host").isEmpty();
    assertThat(config.getStringList("akka.cluster.seed-nodes")).containsExactly("akka://tidemark@node-a.internal:25520");
    assertThat(config.getString("akka.cluster.downing-provider-class")).isEqualTo("akka.cluster.sbr.SplitBrainResolverProvider");
    assertThat(config.getBoolean("akka.actor.allow-java-serialization")).isFalse();
  }

  @Test
  void managementStaysOnLocalhostUnlessToldOtherwise() {
    Config config = ServiceConfig.load(PRODUCTION, Map.of(), minimal());
    assertThat(config.getString("akka.management.http.hostname")).isEqualTo("127.0.0.1");
    assertThat(config.getString("akka.management.http.bind-hostname")).isEmpty();
    assertThat(config.getBoolean("akka.management.http.route-providers-read-only")).isTrue();

    Map<String, String> container = minimal();
    container.put("TIDEMARK_MANAGEMENT_HOST", "node-a.internal");
    container.put("TIDEMARK_MANAGEMENT_BIND_HOST", "0.0.0.0");
    container.put("TIDEMARK_MANAGEMENT_PORT", "9558");
    container.put("TIDEMARK_REMOTE_BIND_HOST", "0.0.0.0");
    container.put("TIDEMARK_REMOTE_PORT", "2552");
    Config told = ServiceConfig.load(PRODUCTION, Map.of(), container);
    assertThat(told.getString("akka.management.http.hostname")).isEqualTo("node-a.internal");
    assertThat(told.getString("akka.management.http.bind-hostname")).isEqualTo("0.0.0.0");
    assertThat(told.getInt("akka.management.http.port")).isEqualTo(9558);
    assertThat(told.getString("akka.remote.artery.bind.hostname")).isEqualTo("0.0.0.0");
    assertThat(told.getInt("akka.remote.artery.canonical.port")).isEqualTo(2552);
  }

  @Test
  void aMissingRequiredVariableIsNamed() {
    for (String variable : List.of("TIDEMARK_MONGODB_URI", "TIDEMARK_JDBC_PASSWORD", "TIDEMARK_REMOTE_HOST", "TIDEMARK_SEED_NODE_1")) {
      Map<String, String> env = minimal();
      env.remove(variable);
      assertThatThrownBy(() -> ServiceConfig.load(PRODUCTION, Map.of(), env))
          .as(variable)
          .isInstanceOf(TidemarkException.class)
          .hasMessageStartingWith("required environment variable " + variable + " is not set (" + PRODUCTION + ": ")
          .hasMessageEndingWith("; expected it set, or " + variable + "_FILE naming a file that holds its value");
    }
  }

  /** Issue 18, defect 11: the missing variables were named one a start, the next one only after the first was set. */
  @Test
  void everyMissingRequiredVariableIsNamedAtOnce() {
    Map<String, String> env = minimal();
    env.remove("TIDEMARK_MONGODB_URI");
    env.remove("TIDEMARK_JDBC_PASSWORD");
    env.remove("TIDEMARK_SEED_NODE_1");
    assertThatThrownBy(() -> ServiceConfig.load(PRODUCTION, Map.of(), env))
        .isInstanceOf(TidemarkException.class)
        .hasMessageMatching("3 required environment variables are not set: TIDEMARK_JDBC_PASSWORD, TIDEMARK_MONGODB_URI, TIDEMARK_SEED_NODE_1"
            + " \\(" + java.util.regex.Pattern.quote(PRODUCTION.toString()) + ": \\d+, \\d+, \\d+\\); expected each set,"
            + " or TIDEMARK_X_FILE naming a file that holds the value of TIDEMARK_X");
  }

  @Test
  void aPasswordFromASecretFile(@TempDir Path dir) throws Exception {
    Map<String, String> env = minimal();
    env.remove("TIDEMARK_JDBC_PASSWORD");
    env.put("TIDEMARK_JDBC_PASSWORD_FILE", Files.writeString(dir.resolve("jdbc-password"), "from-a-file\n").toString());
    Config config = ServiceConfig.load(PRODUCTION, Map.of(), env);
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.password")).isEqualTo("from-a-file");

    env.put("TIDEMARK_JDBC_PASSWORD_FILE", dir.resolve("missing").toString());
    assertThatThrownBy(() -> ServiceConfig.load(PRODUCTION, Map.of(), env))
        .isInstanceOf(TidemarkException.class)
        .hasMessageContaining("TIDEMARK_JDBC_PASSWORD_FILE names " + dir.resolve("missing") + ", which does not exist");
  }

  @Test
  void theDemoDefaultsAreUnchangedWithoutTheProductionConfig() {
    Config config = ServiceConfig.load(null, Map.of(), Map.of());
    assertThat(config.getString("akka.remote.artery.canonical.hostname")).isEqualTo("127.0.0.1");
    assertThat(config.getInt("akka.remote.artery.canonical.port")).isZero();
    assertThat(config.getString("akka.management.http.hostname")).isEqualTo("127.0.0.1");
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.driver")).isEqualTo("org.h2.Driver");
  }

  /** Issue 18, defect 12: a value from an option was reported as "(hardcoded value)". */
  @Test
  void aValueFromAnOptionNamesTheCommandLineAsItsOrigin() {
    Config config = ServiceConfig.load(null, Map.of("tidemark.demo.rate", -5), Map.of());
    assertThatThrownBy(() -> io.tidemark.service.DemoSettings.create(config))
        .isInstanceOf(TidemarkException.class)
        .hasMessage("invalid config key tidemark.demo.rate = -5 (command line): expected a positive integer");
  }

  @Test
  void aConfigurationDumpToTheLogIsRefused() {
    assertThatThrownBy(() -> ServiceConfig.load(PRODUCTION, Map.of("akka.log-config-on-start", "on"), minimal()))
        .isInstanceOf(TidemarkException.class)
        .hasMessageStartingWith("akka.log-config-on-start = on would write the whole configuration to the log");
  }

  @Test
  void aNodeTakesPortSeedsAndDatabaseFromTheCommandLineOrTheConfig() {
    NodeCommand bare = new NodeCommand();
    assertThatThrownBy(bare::options).hasMessage("a node needs --port P, or --config FILE naming akka.remote.artery.canonical.port");

    NodeCommand local = new NodeCommand();
    local.port = 25521;
    local.seeds = List.of("127.0.0.1:25521");
    assertThat(local.options())
        .containsEntry("akka.remote.artery.canonical.port", 25521)
        .containsEntry("akka.cluster.seed-nodes", List.of("akka://tidemark@127.0.0.1:25521"))
        .containsEntry("akka-persistence-jdbc.shared-databases.slick.db.url", NodeCommand.DEFAULT_CHECKPOINTS);

    NodeCommand production = new NodeCommand();
    production.config = PRODUCTION;
    assertThat(production.options()).as("the config's port, seeds and database stand").isEmpty();
  }
}
