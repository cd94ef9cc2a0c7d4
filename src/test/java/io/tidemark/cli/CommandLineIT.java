package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import akka.Done;
import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.actor.typed.ActorRef;
import akka.actor.typed.javadsl.AskPattern;
import akka.pattern.StatusReply;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointEntity;
import io.tidemark.checkpoint.JdbcCheckpointSettings;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad input on the command line: one clear line on stderr, a non-zero exit, nothing overwritten. */
class CommandLineIT {

  private record Outcome(int exitCode, String out, String err) {
    String onlyErrorLine() {
      assertThat(err.lines()).as("stderr is one line: %s", err).hasSize(1);
      assertThat(err).doesNotContain("\tat ").doesNotContain("Exception in thread");
      return err.strip();
    }
  }

  private static Outcome run(String... args) {
    args = io.tidemark.Clusters.withFreeManagementPort(args);
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int code = Main.execute(args, new PrintWriter(out, true), new PrintWriter(err, true));
    return new Outcome(code, out.toString(), err.toString());
  }

  private static Path config(Path dir, String hocon) throws Exception {
    Path file = dir.resolve("test.conf");
    Files.writeString(file, hocon);
    return file;
  }

  @Test
  void anUnknownCommandIsAUsageError() {
    Outcome outcome = run("frobnicate");
    assertThat(outcome.exitCode).isEqualTo(Main.USAGE);
    assertThat(outcome.onlyErrorLine())
        .isEqualTo("error: unknown command 'frobnicate'; expected one of: run, tail, demo, verify, mongo, node, workload, checkpoints, status, report, snapshot, help (see --help)");
  }

  @Test
  void anUnknownOptionIsAUsageError() {
    Outcome outcome = run("demo", "--bogus");
    assertThat(outcome.exitCode).isEqualTo(Main.USAGE);
    assertThat(outcome.onlyErrorLine()).startsWith("error: Unknown option: '--bogus'").endsWith("(see demo --help)");
  }

  @Test
  void helpNamesTheCommands() {
    Outcome outcome = run("--help");
    assertThat(outcome.exitCode).isZero();
    assertThat(outcome.out).contains("demo").contains("verify");
  }

  /** Issue 18, defect 11: the list of commands cut each description at the end of its first line, mid-sentence. */
  @Test
  void helpSaysWhatEachCommandDoesInAWholeSentence() {
    String help = run("--help").out;
    String commands = help.substring(help.indexOf("Commands:") + "Commands:".length());
    java.util.Map<String, String> entries = new java.util.LinkedHashMap<>();
    String current = null;
    for (String line : commands.lines().toList()) {
      java.util.regex.Matcher entry = java.util.regex.Pattern.compile("^  (\\S+)\\s+(.*)$").matcher(line);
      if (entry.matches()) {
        current = entry.group(1);
        entries.put(current, entry.group(2).strip());
      } else if (current != null && !line.isBlank()) {
        entries.merge(current, line.strip(), (before, more) -> before + " " + more);
      }
    }
    assertThat(entries.keySet()).containsExactly("run", "tail", "demo", "verify", "mongo", "node", "workload", "checkpoints", "status",
        "report", "snapshot", "help");
    assertThat(entries).allSatisfy((command, description) -> assertThat(description).as(command).endsWith("."));
  }

  @Test
  void aBareCommandLinePrintsTheUsageAndIsAUsageError() {
    Outcome outcome = run();
    assertThat(outcome.exitCode).isEqualTo(Main.USAGE);
    assertThat(outcome.err).contains("Usage: tidemark").contains("demo").contains("verify");
    assertThat(outcome.out).isEmpty();
  }

  @Test
  void versionPrintsTheVersion() {
    for (String option : new String[] {"--version", "-V"}) {
      Outcome outcome = run(option);
      assertThat(outcome.exitCode).isZero();
      assertThat(outcome.out.strip()).startsWith("tidemark ");
    }
  }

  @Test
  void zeroEventsIsRefused(@TempDir Path dir) {
    Outcome outcome = run("demo", "--events", "0", "--data", dir.toString());
    assertThat(outcome.exitCode).isEqualTo(Main.USAGE);
    assertThat(outcome.onlyErrorLine())
        .isEqualTo("error: invalid --events 0: expected a positive number of writes; leave --events out to run until stopped (see demo --help)");
  }

  @Test
  void statusWithoutANodeSaysTheConnectionWasRefused() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    Outcome outcome = run("status", "--management", "127.0.0.1:" + closed);
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).startsWith("error: no Tidemark node answers at http://127.0.0.1:" + closed + " (connection refused)");
  }

  /** Issue 18, defect 11/12: demo took --management-port P, status and report --management HOST:PORT; each now takes both. */
  @Test
  void statusAndReportTakeTheManagementPortToo() throws Exception {
    int closed;
    try (java.net.ServerSocket socket = new java.net.ServerSocket(0)) {
      closed = socket.getLocalPort();
    }
    for (String command : List.of("status", "report")) {
      Outcome outcome = run(command, "--management-port", String.valueOf(closed));
      assertThat(outcome.exitCode).as(command).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.onlyErrorLine()).as(command).startsWith("error: no Tidemark node answers at http://127.0.0.1:" + closed + " (connection refused)");
    }
    Outcome both = run("status", "--management", "127.0.0.1:" + closed, "--management-port", String.valueOf(closed));
    assertThat(both.exitCode).isEqualTo(Main.USAGE);
    assertThat(both.onlyErrorLine()).isEqualTo("error: --management HOST:PORT and --management-port P both name the management endpoints:"
        + " give one (see status --help)");
  }

  @Test
  void theDemoTakesTheManagementAddressToo(@TempDir Path dir) throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Outcome outcome = run("demo", "--management", "127.0.0.1:" + port, "--data", dir.toString(), "--events", "10");
      assertThat(outcome.exitCode).as(outcome.err).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.onlyErrorLine()).isEqualTo("error: the management endpoints cannot listen on 127.0.0.1:" + port
          + ": the port is in use; expected a free port in akka.management.http.port (--management-port P or --management HOST:PORT,"
          + " TIDEMARK_MANAGEMENT_PORT)");
    }
  }

  @Test
  void aTakenMongoDbPortNamesThePortAndTheComponent(@TempDir Path dir) throws Exception {
    try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
      int port = taken.getLocalPort();
      Outcome outcome = run("demo", "--port", String.valueOf(port), "--data", dir.toString(), "--events", "10");
      assertThat(outcome.exitCode).as(outcome.err).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.onlyErrorLine()).isEqualTo("error: the embedded MongoDB cannot listen on 127.0.0.1:" + port
          + ": the port is in use; expected a free port in tidemark.demo.mongodb-port (--port), or none for any free port");
    }
  }

  @Test
  void aMalformedUriNamesTheUriAndTheExpectedForm() {
    Outcome outcome = run("demo", "--mongodb", "htp://user:secret@db.example.com");
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine())
        .startsWith("error: malformed MongoDB URI 'htp://user:***@db.example.com'")
        .contains("expected mongodb://")
        .doesNotContain("secret");
  }

  /** Issue 18, defect 12: the driver's "Error at index 0 in: \"Se\"" showed two characters of the password. */
  @Test
  void aMalformedPercentEscapeInThePasswordShowsNoneOfIt() {
    for (String uri : List.of("mongodb://admin:Se%zzcret@db.example.com", "mongodb://admin:Secret%@db.example.com",
        "mongodb://admin:%Secret@db.example.com")) {
      Outcome outcome = run("demo", "--mongodb", uri);
      assertThat(outcome.exitCode).as(uri).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.onlyErrorLine()).as(uri)
          .isEqualTo("error: malformed MongoDB URI 'mongodb://admin:***@db.example.com': a malformed percent-escape (% must be"
              + " followed by two hexadecimal digits; write % itself as %25) (expected mongodb://[user:password@]host[:port][/?options]"
              + " or mongodb+srv://host)");
      assertThat(outcome.err + outcome.out).as(uri).doesNotContain("Se").doesNotContain("cret").doesNotContain("zz");
    }
  }

  @Test
  void aFlagOutOfRangeIsNamedAsTheFlag(@TempDir Path dir) {
    Outcome rate = run("demo", "--rate", "-5", "--data", dir.toString());
    assertThat(rate.exitCode).isEqualTo(Main.USAGE);
    assertThat(rate.onlyErrorLine()).isEqualTo("error: invalid --rate -5: expected a positive number of writes per second (see demo --help)");
    Outcome port = run("demo", "--port", "70000", "--data", dir.toString());
    assertThat(port.exitCode).isEqualTo(Main.USAGE);
    assertThat(port.onlyErrorLine()).isEqualTo("error: invalid --port 70000: expected a port, 0 to 65535 (see demo --help)");
    Outcome workload = run("workload", "--mongodb", "mongodb://127.0.0.1:1", "--events", "0");
    assertThat(workload.exitCode).isEqualTo(Main.USAGE);
    assertThat(workload.onlyErrorLine())
        .isEqualTo("error: invalid --events 0: expected a positive number of writes; leave --events out to run until stopped (see workload --help)");
  }

  /** Issue 18, defect 12: "cannot create data directory F: F", the path given as its own cause. */
  @Test
  void aFileGivenAsTheDataDirectoryIsNamedAsAFile(@TempDir Path dir) throws Exception {
    Path file = Files.writeString(dir.resolve("afile"), "not a directory");
    Outcome outcome = run("demo", "--data", file.toString(), "--events", "10");
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).isEqualTo("error: cannot create data directory " + file
        + ": a file of that name is in the way; expected a directory (--data DIR)");
    Outcome verify = run("verify", "--data", file.toString());
    assertThat(verify.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(verify.onlyErrorLine()).isEqualTo("error: --data " + file + " is a file: expected the demo's data directory");
  }

  /** A bare --mongodb is the configured URI (TIDEMARK_MONGODB_URI or its _FILE): the password stays off the command line. */
  @Test
  void aBareMongodbOptionTakesTheConfiguredUri(@TempDir Path dir) throws Exception {
    Path conf = config(dir, "tidemark.mongodb { uri = \"mongodb://127.0.0.1:1\", connect-timeout = 1s, start-timeout = 1s }");
    Outcome workload = run("workload", "--mongodb", "--config", conf.toString(), "--events", "5");
    assertThat(workload.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(workload.onlyErrorLine()).startsWith("error: MongoDB unreachable at 127.0.0.1:1 after 1s (tidemark.mongodb.start-timeout)");
    Outcome verify = run("verify", "--mongodb", "--config", conf.toString());
    assertThat(verify.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(verify.onlyErrorLine()).startsWith("error: MongoDB unreachable at 127.0.0.1:1 after 1s (tidemark.mongodb.connect-timeout)");
  }

  @Test
  void anUnreachableServerFailsAfterTheConfiguredTime(@TempDir Path dir) throws Exception {
    Path conf = config(dir, "tidemark.mongodb.connect-timeout = 1s\ntidemark.mongodb.start-timeout = 2s");
    Outcome outcome = run("demo", "--mongodb", "mongodb://admin:hunter2@127.0.0.1:1", "--config", conf.toString(), "--data", dir.toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).isEqualTo("error: MongoDB unreachable at 127.0.0.1:1 after 2s (tidemark.mongodb.start-timeout):"
        + " 127.0.0.1:1: ConnectException: Connection refused");
    assertThat(outcome.err + outcome.out).doesNotContain("hunter2");
  }

  @Test
  void withoutAStartWaitAnUnreachableServerFailsAfterTheConnectTimeout(@TempDir Path dir) throws Exception {
    Path conf = config(dir, "tidemark.mongodb.connect-timeout = 1s\ntidemark.mongodb.start-timeout = 0s");
    Outcome outcome = run("demo", "--mongodb", "mongodb://admin:hunter2@127.0.0.1:1", "--config", conf.toString(), "--data", dir.toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).startsWith("error: MongoDB unreachable at 127.0.0.1:1 after 1s (tidemark.mongodb.connect-timeout)");
    assertThat(outcome.err + outcome.out).doesNotContain("hunter2");
  }

  @Test
  void aMistypedConfigKeyIsNamedWithASuggestion(@TempDir Path dir) throws Exception {
    Outcome outcome = run("demo", "--config", config(dir, "tidemark.demo.rat = 5").toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).startsWith("error: unknown config key tidemark.demo.rat").endsWith("did you mean tidemark.demo.rate?");
  }

  @Test
  void aValueOfTheWrongTypeNamesTheKeyAndTheExpectedForm(@TempDir Path dir) throws Exception {
    Outcome outcome = run("demo", "--config", config(dir, "tidemark.demo.rate = fast").toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).startsWith("error: invalid config key tidemark.demo.rate = \"fast\"").endsWith("expected a positive integer");
  }

  @Test
  void aMissingConfigFileIsNamed(@TempDir Path dir) {
    Outcome outcome = run("verify", "--config", dir.resolve("nope.conf").toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).contains("nope.conf does not exist");
  }

  @Test
  void verifyWithoutDataSaysWhatToDo(@TempDir Path dir) {
    Outcome outcome = run("verify", "--data", dir.resolve("empty").toString());
    assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
    assertThat(outcome.onlyErrorLine()).startsWith("error: no demo data in").contains("run `demo` first");
  }

  @Test
  void aCorruptStoredTokenStopsTheDemoAndIsLeftAsItIs(@TempDir Path dir) throws Exception {
    var journal = TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString()).withFallback(ConfigFactory.load());
    ActorTestKit kit = ActorTestKit.create("corrupt", journal);
    try {
      JdbcCheckpointStore.create(kit.system()).ready().toCompletableFuture().get(20, TimeUnit.SECONDS);
      ActorRef<CheckpointEntity.Command> entity =
          kit.spawn(CheckpointEntity.create("orders-view", JdbcCheckpointSettings.create(kit.system())));
      StatusReply<Done> saved = AskPattern.<CheckpointEntity.Command, StatusReply<Done>>ask(
              entity, replyTo -> new CheckpointEntity.Save("{\"_data\": 12", 1L, 1L, 0L, replyTo), Duration.ofSeconds(10), kit.system().scheduler())
          .toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertThat(saved.isSuccess()).isTrue();
      kit.stop(entity);

      Outcome outcome = run("demo", "--data", dir.toString(), "--events", "10");
      assertThat(outcome.exitCode).isEqualTo(Main.BAD_INPUT);
      assertThat(outcome.onlyErrorLine())
          .startsWith("error: stream 'orders-view': stored resume token '{\"_data\": 12' is not valid JSON")
          .contains("left untouched");

      ActorRef<CheckpointEntity.Command> reader =
          kit.spawn(CheckpointEntity.create("orders-view", JdbcCheckpointSettings.create(kit.system())));
      CheckpointEntity.State state = AskPattern.ask(reader, CheckpointEntity.Get::new, Duration.ofSeconds(10), kit.system().scheduler())
          .toCompletableFuture().get(20, TimeUnit.SECONDS);
      assertThat(state.tokenJson).isEqualTo("{\"_data\": 12");
      assertThat(state.saves).isEqualTo(1);
    } finally {
      kit.shutdownTestKit();
    }
  }
}
