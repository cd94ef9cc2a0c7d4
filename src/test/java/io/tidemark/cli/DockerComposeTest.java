package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceStreams;
import io.tidemark.service.StreamDefinition;

import io.tidemark.service.ServiceConfig;
import io.tidemark.service.ServiceStreams;
import io.tidemark.service.StreamDefinition;

import static org.assertj.core.api.Assertions.assertThat;

import com.mongodb.ConnectionString;
import com.typesafe.config.Config;
import io.tidemark.SecretFiles;
import io.tidemark.checkpoint.JdbcCheckpointSettings;
import io.tidemark.checkpoint.JournalSchema;
import io.tidemark.connection.MongoSettings;
import io.tidemark.window.WindowSettings;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/**
 * There is no Docker engine here, so docker-compose.yml is checked against the configuration
 * instead of run: the services each reference exist, every variable a node sets is one that
 * conf/production.conf reads and every one it requires is set, the secrets exist, the cluster's
 * seed nodes and the JDBC and MongoDB addresses name real services, the published ports and
 * healthchecks are the configured management port and paths, and node 1's environment loads into
 * a configuration that resolves and passes the service's checks.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DockerComposeTest {
  private static final Path COMPOSE = Path.of("docker-compose.yml");
  private static final Path PRODUCTION = Path.of("conf", "production.conf");
  /** What the nodes run: production.conf and the streams. */
  private static final Path SERVICE = Path.of("conf", "service.conf");
  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{(\\??)([A-Z][A-Z0-9_]*)}");
  private static final Pattern INCLUDE = Pattern.compile("^\\s*include\\s+\"([^\"]+)\"", Pattern.MULTILINE);
  private static final Pattern SEED = Pattern.compile("akka://tidemark@([^:]+):(\\d+)");

  private Map<String, Object> compose;
  private Map<String, Map<String, Object>> services;
  private Map<String, Map<String, Object>> nodes;

  @BeforeAll
  void readCompose() throws IOException {
    compose = yaml(COMPOSE);
    services = maps(compose.get("services"));
    nodes = new LinkedHashMap<>();
    services.forEach((name, service) -> {
      if (strings(service.get("command")).stream().findFirst().orElse("").equals("run")) nodes.put(name, service);
    });
  }

  @Test
  void threeNodesRunTheServiceConfigInTheImageBuiltFromTheJar() throws IOException {
    assertThat(nodes).containsOnlyKeys("tidemark-1", "tidemark-2", "tidemark-3");
    String dockerfile = Files.readString(Path.of("src/main/docker/Dockerfile"));
    assertThat(dockerfile).as("the image's default command is the service").containsPattern(
        "(?m)^CMD \\[\"run\", \"--config\", \"/app/conf/service.conf\"]$");
    for (Map<String, Object> node : nodes.values()) {
      assertThat(strings(node.get("command"))).containsExactly("run", "--config", "/app/conf/service.conf");
      Map<String, Object> build = map(node.get("build"));
      assertThat(Path.of(String.valueOf(build.get("context"))).resolve(String.valueOf(build.get("dockerfile")))).exists();
    }
    assertThat(dockerfile).containsPattern("(?m)^FROM eclipse-temurin:17-jre$")
        .containsPattern("(?m)^COPY conf/ /app/conf/$")
        .containsPattern("(?m)^COPY target/tidemark.jar /app/tidemark.jar$")
        .containsPattern("(?m)^ENTRYPOINT \\[\"java\", .*\"-jar\", \"/app/tidemark.jar\"]$");
    Matcher user = Pattern.compile("(?m)^USER (\\S+)$").matcher(dockerfile);
    assertThat(user.find()).as("the image runs as a user of its own").isTrue();
    assertThat(user.group(1)).doesNotStartWith("root").doesNotStartWith("0:").isNotEqualTo("0");
    assertThat(PRODUCTION).as("copied to /app/conf by COPY conf/").exists();
    assertThat(SERVICE).as("copied to /app/conf by COPY conf/").exists();
  }

  /**
   * The image logs with /app/conf/logback.xml (issue 18, defect 10: it used the copy packaged in the
   * jar, so a file mounted there changed nothing), and that file is the one conf/ holds.
   */
  @Test
  void theImageLogsWithTheLogbackFileInItsConfDirectory() throws IOException {
    String dockerfile = Files.readString(Path.of("src/main/docker/Dockerfile"));
    assertThat(entrypoint(dockerfile)).contains("-Dlogback.configurationFile=/app/conf/logback.xml");
    assertThat(dockerfile).containsPattern("(?m)^COPY conf/ /app/conf/$");
    assertThat(Path.of("conf", "logback.xml")).isRegularFile();
    assertThat(Path.of("conf", "logback-json.xml")).isRegularFile();
  }

  /**
   * Issue 18, defect 13: the JVM's defaults were the value of JAVA_TOOL_OPTIONS, so setting that
   * variable (for -Xmx, an agent, a truststore) dropped -XX:MaxRAMPercentage. They are on the
   * entrypoint's command line now, and JAVA_TOOL_OPTIONS adds to them.
   */
  @Test
  void theJvmDefaultsAreOnTheCommandLineAndJavaToolOptionsAddsToThem() throws IOException {
    String dockerfile = Files.readString(Path.of("src/main/docker/Dockerfile"));
    List<String> entrypoint = entrypoint(dockerfile);
    assertThat(entrypoint.subList(0, entrypoint.indexOf("-jar"))).startsWith("java").contains("-XX:MaxRAMPercentage=75");
    assertThat(dockerfile).doesNotContainPattern("(?m)^ENV\\s+(JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS)\\b");
    services.forEach((name, service) -> assertThat(environment(service)).as(name).doesNotContainKey("JAVA_TOOL_OPTIONS"));
  }

  /** The build context is what the image copies, nothing more: not the secrets, not .git, not the sources. */
  @Test
  void theBuildContextHoldsOnlyWhatTheImageCopies() throws IOException {
    Path ignore = Path.of(".dockerignore");
    assertThat(ignore).as("docker build sends the whole project otherwise, secrets and .git included").isRegularFile();
    List<String> rules = Files.readAllLines(ignore).stream().map(String::strip)
        .filter(line -> !line.isEmpty() && !line.startsWith("#")).toList();
    assertThat(rules.get(0)).as("everything is left out first").isEqualTo("*");
    Set<String> exceptions = new TreeSet<>();
    for (String rule : rules.subList(1, rules.size())) {
      assertThat(rule).as("after *, only exceptions").startsWith("!");
      exceptions.add(rule.substring(1).replaceAll("/$", ""));
    }
    Set<String> copied = new TreeSet<>();
    Matcher copy = Pattern.compile("(?m)^COPY (\\S+) \\S+$").matcher(Files.readString(Path.of("src/main/docker/Dockerfile")));
    while (copy.find()) copied.add(copy.group(1).replaceAll("/$", ""));
    assertThat(exceptions).isEqualTo(copied);
  }

  /**
   * Issue 18, defect 13: the production shape ran MongoDB without access control. Each member now
   * authenticates the others with a keyfile and has a root user, both from secrets; the one-shot
   * service logs in as root and creates the nodes' user, named with its password in the URI secret.
   */
  @Test
  void mongoDbRunsWithAccessControl() throws IOException {
    Map<String, Map<String, Object>> secrets = maps(compose.get("secrets"));
    for (String host : new ConnectionString(secret("mongodb-uri")).getHosts()) {
      String name = host.substring(0, host.indexOf(':'));
      Map<String, Object> member = services.get(name);
      List<String> command = strings(member.get("command"));
      assertThat(command).as(name).containsSequence("--keyFile", "/etc/mongo-keyfile");
      assertThat(String.join(" ", strings(member.get("entrypoint")))).as(name + " copies the keyfile for mongod alone to read")
          .contains("/run/secrets/mongo-keyfile").contains("/etc/mongo-keyfile").contains("-m 400").contains("docker-entrypoint.sh");
      Map<String, String> env = environment(member);
      assertThat(env).as(name).containsEntry("MONGO_INITDB_ROOT_USERNAME", "root")
          .containsEntry("MONGO_INITDB_ROOT_PASSWORD_FILE", "/run/secrets/mongo-root-password");
      assertThat(strings(member.get("secrets"))).as(name).contains("mongo-keyfile", "mongo-root-password");
    }
    String keyfile = Files.readString(Path.of(String.valueOf(secrets.get("mongo-keyfile").get("file")))).strip();
    assertThat(keyfile).as("a keyfile: 6 to 1024 base64 characters").matches("[A-Za-z0-9+/=]{6,1024}");

    Map<String, Object> init = services.get("mongo-init");
    String entrypoint = String.join(" ", strings(init.get("entrypoint")));
    assertThat(entrypoint).contains("-u root").contains("$(cat /run/secrets/mongo-root-password)").contains("--authenticationDatabase admin");
    assertThat(strings(init.get("secrets"))).contains("mongo-root-password", "mongodb-uri");
    String script = Files.readString(Path.of("src/main/docker/mongo-init.js"));
    assertThat(strings(init.get("volumes"))).contains("./src/main/docker/mongo-init.js:/mongo-init.js:ro");
    assertThat(script).contains("/run/secrets/mongodb-uri").contains("createUser");

    com.mongodb.MongoCredential login = new ConnectionString(secret("mongodb-uri")).getCredential();
    assertThat(login).as("the nodes log in").isNotNull();
    assertThat(login.getSource()).isEqualTo("admin");
  }

  /** Every Tidemark command of the compose file reads its MongoDB URI from the secret: none is written out without credentials. */
  @Test
  void everyTidemarkServiceTakesItsMongoDbUriFromTheSecret() {
    services.forEach((name, service) -> {
      if (!"tidemark:dev".equals(String.valueOf(service.get("image")))) return;
      assertThat(String.join(" ", strings(service.get("command")))).as(name).doesNotContain("mongodb://");
      assertThat(environment(service)).as(name).containsEntry("TIDEMARK_MONGODB_URI_FILE", "/run/secrets/mongodb-uri");
      assertThat(strings(service.get("secrets"))).as(name).contains("mongodb-uri");
    });
  }

  /** The arguments of the Dockerfile's ENTRYPOINT (its exec form). */
  static List<String> entrypoint(String dockerfile) {
    Matcher line = Pattern.compile("(?m)^ENTRYPOINT \\[(.*)]$").matcher(dockerfile);
    assertThat(line.find()).as("an ENTRYPOINT in exec form").isTrue();
    List<String> arguments = new ArrayList<>();
    Matcher argument = Pattern.compile("\"([^\"]*)\"").matcher(line.group(1));
    while (argument.find()) arguments.add(argument.group(1));
    return arguments;
  }

  @Test
  void everyServiceThatIsDependedOnExists() {
    services.forEach((name, service) -> {
      Object dependsOn = service.get("depends_on");
      Set<String> names = dependsOn instanceof Map<?, ?> map ? stringKeys(map) : new TreeSet<>(strings(dependsOn));
      assertThat(services.keySet()).as("depends_on of " + name).containsAll(names);
    });
  }

  @Test
  void everyVariableANodeSetsIsReadAndEveryRequiredOneIsSet() throws IOException {
    Map<String, Boolean> read = variablesRead(PRODUCTION);
    // The service falls back to application.conf; what production.conf requires stays required.
    variablesRead(Path.of("conf", "application.conf")).forEach((name, required) -> read.putIfAbsent(name, false));
    Set<String> required = new TreeSet<>();
    read.forEach((name, isRequired) -> {
      if (isRequired) required.add(name);
    });
    assertThat(required).contains("TIDEMARK_MONGODB_URI", "TIDEMARK_JDBC_URL", "TIDEMARK_JDBC_USER", "TIDEMARK_JDBC_PASSWORD",
        "TIDEMARK_REMOTE_HOST", "TIDEMARK_SEED_NODE_1");
    nodes.forEach((name, node) -> {
      Map<String, String> env = environment(node);
      for (String variable : env.keySet()) {
        String target = variable.endsWith(SecretFiles.SUFFIX) ? variable.substring(0, variable.length() - SecretFiles.SUFFIX.length()) : variable;
        assertThat(read).as(name + " sets " + variable + ": conf/production.conf must read " + target).containsKey(target);
      }
      for (String variable : required) {
        assertThat(env.containsKey(variable) || env.containsKey(variable + SecretFiles.SUFFIX))
            .as(name + " sets " + variable + " or " + variable + SecretFiles.SUFFIX).isTrue();
      }
    });
  }

  @Test
  void secretFilesAreDeclaredMountedAndPresent() {
    Map<String, Map<String, Object>> secrets = maps(compose.get("secrets"));
    secrets.forEach((name, secret) -> assertThat(Path.of(String.valueOf(secret.get("file")))).as("secret " + name).isRegularFile());
    services.forEach((name, service) -> {
      List<String> mounted = strings(service.get("secrets"));
      assertThat(secrets.keySet()).as("secrets of " + name).containsAll(mounted);
      Map<String, String> env = environment(service);
      env.forEach((variable, value) -> {
        if (variable.endsWith(SecretFiles.SUFFIX)) {
          assertThat(value).as(name + " " + variable).startsWith("/run/secrets/");
          assertThat(mounted).as(name + " mounts the secret " + variable + " names").contains(value.substring("/run/secrets/".length()));
        }
      });
    });
  }

  @Test
  void everyNodeLoadsTheServiceConfigWithItsEnvironmentAndPassesTheChecks() throws IOException {
    for (Map.Entry<String, Map<String, Object>> entry : nodes.entrySet()) {
      String name = entry.getKey();
      Config config = ServiceConfig.load(SERVICE, Map.of(), onThisMachine(environment(entry.getValue())));

      MongoSettings mongo = MongoSettings.create(config);
      WindowSettings.create(config);
      assertThat(JdbcCheckpointSettings.create(config).journalPlugin).isEqualTo("jdbc-journal");
      assertThat(JournalSchema.dialect(config.getString("akka-persistence-jdbc.shared-databases.slick.db.url"))).isEqualTo("postgres");
      assertThat(mongo.uri).isEqualTo(secret("mongodb-uri"));
      assertThat(config.getString("akka.remote.artery.canonical.hostname")).isEqualTo(name);
      assertThat(config.getInt("akka.remote.artery.canonical.port")).isEqualTo(25520);
      assertThat(config.getString("akka.remote.artery.bind.hostname")).isEqualTo("0.0.0.0");
      assertThat(config.getString("akka.management.http.bind-hostname")).isEqualTo("0.0.0.0");
      assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.password")).isEqualTo(secret("jdbc-password"));
      assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.profile")).isEqualTo("slick.jdbc.PostgresProfile$");
      assertThat(config.getBoolean("akka.actor.allow-java-serialization")).isFalse();
      assertThat(config.getString("akka.actor.provider")).isEqualTo("cluster");
      RunCommand command = new RunCommand();
      command.config = SERVICE;
      assertThat(command.options()).as("no command-line default overrides the config").isEmpty();
      // The streams pass the checks run makes before it joins: keys, values, sink types, each sink's settings.
      ServiceStreams.Checked checked = ServiceStreams.check(config, getClass().getClassLoader());
      assertThat(checked.names()).containsExactly("orders-table", "shop-copy");
      assertThat(checked.definitions().stream().map(StreamDefinition::sinkType)).containsExactly("jdbc", "mongodb");
      assertThat(checked.definitions().get(0).sink().getString("password")).isEqualTo(secret("jdbc-password"));

      List<String> seeds = config.getStringList("akka.cluster.seed-nodes");
      assertThat(seeds).hasSize(3);
      for (String seed : seeds) {
        Matcher matcher = SEED.matcher(seed);
        assertThat(matcher.matches()).as(seed).isTrue();
        assertThat(nodes).as("seed node " + seed + " is a node service").containsKey(matcher.group(1));
        Config seedConfig = ServiceConfig.load(SERVICE, Map.of(), onThisMachine(environment(nodes.get(matcher.group(1)))));
        assertThat(Integer.parseInt(matcher.group(2))).as(seed).isEqualTo(seedConfig.getInt("akka.remote.artery.canonical.port"));
      }
    }
  }

  @Test
  void theCheckpointDatabaseIsThePostgresServiceWithTheJournalSchema() throws IOException {
    Config config = ServiceConfig.load(PRODUCTION, Map.of(), onThisMachine(environment(nodes.get("tidemark-1"))));
    String url = config.getString("akka-persistence-jdbc.shared-databases.slick.db.url");
    URI jdbc = URI.create(url.substring("jdbc:".length()));
    assertThat(jdbc.getScheme()).isEqualTo("postgresql");
    Map<String, Object> postgres = services.get(jdbc.getHost());
    assertThat(postgres).as("the JDBC URL's host " + jdbc.getHost() + " is a service").isNotNull();
    assertThat(String.valueOf(postgres.get("image"))).isEqualTo("postgres:16");
    Map<String, String> env = environment(postgres);
    assertThat(jdbc.getPath()).isEqualTo("/" + env.get("POSTGRES_DB"));
    assertThat(jdbc.getPort()).isEqualTo(5432);
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.user")).isEqualTo(env.get("POSTGRES_USER"));
    assertThat(env.get("POSTGRES_PASSWORD_FILE")).isEqualTo("/run/secrets/jdbc-password");

    List<String> volumes = strings(postgres.get("volumes"));
    assertThat(volumes).contains(
        "./src/main/resources/tidemark/schema/postgres.sql:/docker-entrypoint-initdb.d/10-tidemark.sql:ro");
  }

  @Test
  void theMongoUriNamesTheReplicaSetThatTheOneShotServiceInitiates() {
    ConnectionString uri = new ConnectionString(secret("mongodb-uri"));
    String replicaSet = uri.getRequiredReplicaSetName();
    assertThat(replicaSet).isNotNull();
    String init;
    try {
      init = Files.readString(Path.of("src/main/docker/mongo-init.js"));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    for (String host : uri.getHosts()) {
      String service = host.substring(0, host.indexOf(':'));
      assertThat(services).as("MongoDB host " + host + " is a service").containsKey(service);
      Map<String, Object> mongo = services.get(service);
      assertThat(String.valueOf(mongo.get("image"))).isEqualTo("mongo:7");
      assertThat(String.join(" ", strings(mongo.get("command")))).contains("--replSet " + replicaSet);
      assertThat(init).as("mongo-init makes " + host + " a member").contains("host: '" + host + "'");
      assertThat(stringKeys(map(services.get("mongo-init").get("depends_on")))).contains(service);
    }
    assertThat(init).contains("rs.initiate({_id: '" + replicaSet + "'");
    assertThat(services.get("mongo-init").get("restart")).isEqualTo("no");
  }

  @Test
  void theTestProfileTurnsOnTestCommandsOnEveryMember() throws IOException {
    Map<String, Map<String, Object>> overrides = maps(yaml(Path.of("docker-compose.test.yml")).get("services"));
    Set<String> members = new TreeSet<>();
    for (String host : new ConnectionString(secret("mongodb-uri")).getHosts()) members.add(host.substring(0, host.indexOf(':')));
    assertThat(overrides).containsOnlyKeys(members);
    overrides.forEach((name, service) -> {
      List<String> base = strings(services.get(name).get("command"));
      List<String> command = strings(service.get("command"));
      assertThat(command).as(name).startsWith(base.toArray(String[]::new));
      assertThat(String.join(" ", command)).contains("--setParameter enableTestCommands=1");
    });
    assertThat(String.join(" ", strings(services.get("mongo-1").get("command")))).doesNotContain("enableTestCommands");
  }

  @Test
  void publishedPortsAndHealthchecksAreTheConfiguredManagementEndpoints() throws IOException {
    Set<String> hostPorts = new HashSet<>();
    services.forEach((name, service) -> {
      for (String port : strings(service.get("ports"))) {
        String[] parts = port.split(":");
        assertThat(hostPorts.add(parts[parts.length - 2])).as("host port of " + port + " used once").isTrue();
      }
    });
    for (Map.Entry<String, Map<String, Object>> entry : nodes.entrySet()) {
      Config config = ServiceConfig.load(SERVICE, Map.of(), onThisMachine(environment(entry.getValue())));
      int management = config.getInt("akka.management.http.port");
      int remote = config.getInt("akka.remote.artery.canonical.port");
      List<Integer> published = new ArrayList<>();
      for (String port : strings(entry.getValue().get("ports"))) {
        String[] parts = port.split(":");
        assertThat(parts[0]).as("published on the host's loopback only").isEqualTo("127.0.0.1");
        published.add(Integer.parseInt(parts[parts.length - 1]));
      }
      assertThat(published).as(entry.getKey() + " publishes its management port (health, /metrics)").contains(management);
      assertThat(published).allMatch(port -> port == management || port == remote);
      assertThat(strings(entry.getValue().get("expose"))).containsExactly(String.valueOf(remote));

      List<String> test = strings(map(entry.getValue().get("healthcheck")).get("test"));
      assertThat(test.get(0)).isEqualTo("CMD");
      URI url = URI.create(test.get(test.size() - 1));
      assertThat(url.getPort()).isEqualTo(management);
      assertThat(url.getPath().substring(1)).isIn(
          config.getString("akka.management.health-checks.readiness-path"),
          config.getString("akka.management.health-checks.liveness-path"));
    }
    Map<String, Object> prometheus = yaml(Path.of("src/main/docker/prometheus.yml"));
    Map<String, Object> job = map(((List<?>) prometheus.get("scrape_configs")).get(0));
    assertThat(job.get("metrics_path")).isEqualTo("/metrics");
    List<String> targets = strings(map(((List<?>) job.get("static_configs")).get(0)).get("targets"));
    Set<String> scraped = new TreeSet<>();
    for (String target : targets) {
      String[] hostPort = target.split(":");
      Config config = ServiceConfig.load(PRODUCTION, Map.of(), onThisMachine(environment(nodes.get(hostPort[0]))));
      assertThat(Integer.parseInt(hostPort[1])).as(target).isEqualTo(config.getInt("akka.management.http.port"));
      scraped.add(hostPort[0]);
    }
    assertThat(scraped).isEqualTo(nodes.keySet());
  }

  @Test
  void everyFileMountedFromTheProjectExists() throws IOException {
    for (Path file : List.of(COMPOSE, Path.of("docker-compose.test.yml"))) {
      maps(yaml(file).get("services")).forEach((name, service) -> {
        for (String volume : strings(service.get("volumes"))) {
          if (volume.startsWith("./")) {
            assertThat(Path.of(volume.substring(0, volume.indexOf(':')))).as(file + ": " + name + " mounts " + volume).exists();
          }
        }
      });
    }
  }

  @Test
  void theCommandsOfTheDeploymentGuideNameRealServicesPortsAndPaths() throws IOException {
    String guide = Files.readString(Path.of("docs", "deployment.md"));
    Set<String> hostPorts = new TreeSet<>();
    services.values().forEach(service -> strings(service.get("ports")).forEach(port -> {
      String[] parts = port.split(":");
      hostPorts.add(parts[parts.length - 2]);
    }));
    Set<String> paths = Set.of("/alive", "/ready", "/cluster/members", "/tidemark/streams", "/tidemark/cluster/streams", "/metrics");
    Pattern serviceVerb = Pattern.compile(
        "docker compose (?:-f \\S+ )*(?:--profile \\S+ )?(?:up -d(?: --no-deps| --build)*|stop|start|kill -s KILL|run --rm|exec) ((?:[a-z][a-z0-9-]* ?)+)");
    Pattern address = Pattern.compile("127\\.0\\.0\\.1:(\\d+)(/[a-z/]*)?");
    int commands = 0;
    Matcher block = Pattern.compile("```bash\\n(.*?)```", Pattern.DOTALL).matcher(guide);
    while (block.find()) {
      for (String line : block.group(1).split("\\n")) {
        String command = line.replaceAll("\\s+#.*$", "").strip();
        if (command.isEmpty()) continue;
        commands++;
        Matcher verb = serviceVerb.matcher(command);
        if (verb.find()) {
          for (String word : verb.group(1).strip().split(" ")) {
            if (List.of("mongosh", "verify", "java", "sh", "psql").contains(word)) break; // the command run inside
            assertThat(services.keySet()).as(command).contains(word);
          }
        }
        Matcher files = Pattern.compile("-f (\\S+)").matcher(command);
        while (files.find()) assertThat(Path.of(files.group(1))).as(command).exists();
        Matcher at = address.matcher(command);
        while (at.find()) {
          if (at.group(1).equals("27017") || at.group(1).equals("5432")) continue;
          assertThat(hostPorts).as(command + ": a published management port").contains(at.group(1));
          if (at.group(2) != null) assertThat(paths).as(command).contains(at.group(2));
        }
      }
    }
    assertThat(commands).as("commands in docs/deployment.md").isGreaterThan(15);
  }

  /** The variables a config file and the files it includes read: name to whether it is required ({@code ${X}}, not {@code ${?X}}). */
  static Map<String, Boolean> variablesRead(Path file) throws IOException {
    Map<String, Boolean> read = new HashMap<>();
    String text = Files.readString(file).replaceAll("(?m)#.*$", "");
    Matcher matcher = SUBSTITUTION.matcher(text);
    while (matcher.find()) read.merge(matcher.group(2), matcher.group(1).isEmpty(), Boolean::logicalOr);
    Matcher include = INCLUDE.matcher(text);
    while (include.find()) {
      Path included = file.resolveSibling(include.group(1));
      assertThat(included).as(file + " includes " + include.group(1)).exists();
      variablesRead(included).forEach((name, required) -> read.merge(name, required, Boolean::logicalOr));
    }
    return read;
  }

  /** The environment with each /run/secrets/NAME path replaced by the file the compose secret NAME mounts there. */
  private Map<String, String> onThisMachine(Map<String, String> env) {
    Map<String, String> local = new HashMap<>(env);
    local.replaceAll((variable, value) -> value.startsWith("/run/secrets/")
        ? String.valueOf(maps(compose.get("secrets")).get(value.substring("/run/secrets/".length())).get("file"))
        : value);
    return local;
  }

  private String secret(String name) {
    try {
      return Files.readString(Path.of(String.valueOf(maps(compose.get("secrets")).get(name).get("file")))).strip();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static Map<String, String> environment(Map<String, Object> service) {
    Map<String, String> env = new LinkedHashMap<>();
    Object environment = service.get("environment");
    if (environment instanceof Map<?, ?> map) map.forEach((k, v) -> env.put(String.valueOf(k), String.valueOf(v)));
    return env;
  }

  private static Map<String, Object> yaml(Path file) throws IOException {
    return map(new Yaml(new SafeConstructor(new LoaderOptions())).load(Files.readString(file)));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value) {
    assertThat(value).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  private static Map<String, Map<String, Object>> maps(Object value) {
    Map<String, Map<String, Object>> result = new LinkedHashMap<>();
    map(value).forEach((key, entry) -> result.put(key, entry == null ? Map.of() : map(entry)));
    return result;
  }

  private static Set<String> stringKeys(Map<?, ?> map) {
    Set<String> keys = new TreeSet<>();
    for (Object key : map.keySet()) keys.add(String.valueOf(key));
    return keys;
  }

  private static List<String> strings(Object value) {
    List<String> result = new ArrayList<>();
    if (value instanceof List<?> list) {
      for (Object item : list) result.add(String.valueOf(item));
    } else if (value != null) {
      result.add(String.valueOf(value));
    }
    return result;
  }
}
