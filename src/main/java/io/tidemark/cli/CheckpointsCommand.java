package io.tidemark.cli;

import io.tidemark.service.ServiceConfig;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.javadsl.Behaviors;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.Checkpoint;
import io.tidemark.checkpoint.CheckpointAdmin;
import io.tidemark.checkpoint.CheckpointAdmin.StreamState;
import io.tidemark.checkpoint.JournalSchema;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bson.BsonDocument;
import org.bson.BsonString;
import org.bson.BsonTimestamp;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code tidemark checkpoints ...}: read and, by hand, move the checkpoints in the checkpoint database. */
@Command(
    name = "checkpoints",
    header = "Read the streams' checkpoints, and move one by hand.",
    description = {
      "Read the checkpoint database, and move a stream's checkpoint by hand. Works on the database",
      "directly: the demo's H2 file in --data (while the demo is stopped), or --checkpoints JDBC_URL",
      "(a shared H2 server or PostgreSQL, while nodes run); or the plain SQL store's tables (--sql, in that",
      "database, or --sql JDBC_URL), or the MongoDB or Redis store (--mongodb URI, --redis URI).",
      "Rewind, reset and import are refused while a consumer holds the stream, unless",
      "--force, which fences that consumer out."
    },
    mixinStandardHelpOptions = true,
    subcommands = {
      CheckpointsCommand.ListStreams.class, CheckpointsCommand.Show.class, CheckpointsCommand.History.class,
      CheckpointsCommand.Rewind.class, CheckpointsCommand.Reset.class, CheckpointsCommand.Export.class,
      CheckpointsCommand.Import.class
    })
final class CheckpointsCommand implements Runnable {
  @Spec CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand: list, show, history, rewind, reset, export or import");
  }

  /** Where the checkpoint database is. */
  static final class Database {
    @Option(names = "--checkpoints", paramLabel = "JDBC_URL",
        description = "The checkpoint database (jdbc:h2:... or jdbc:postgresql://...; user and password from TIDEMARK_JDBC_USER and TIDEMARK_JDBC_PASSWORD). Default: the H2 file in the data directory.")
    String url;

    @Option(names = "--data", paramLabel = "DIR", description = "The demo's data directory (default: ./data).")
    Path data;

    @Option(names = "--config", paramLabel = "FILE", description = "A HOCON file whose keys override the defaults.")
    Path config;

    @Option(names = "--mongodb", paramLabel = "URI",
        description = "Read and write the checkpoints of the MongoDB store (MongoCheckpointStore) at this deployment instead, in"
            + " tidemark.checkpoint.mongodb.database / .collection (default tidemark.tidemark_checkpoints).")
    String mongodb;

    @Option(names = "--redis", paramLabel = "URI",
        description = "Read and write the checkpoints of the Redis store (RedisCheckpointStore) at this URI instead"
            + " (redis://[[user]:password@]host[:port][/database]), under tidemark.checkpoint.redis.key-prefix"
            + " (default tidemark:checkpoints:).")
    String redis;

    @Option(names = "--sql", paramLabel = "JDBC_URL", arity = "0..1", fallbackValue = "",
        description = "Read and write the checkpoints of the plain SQL store (SqlCheckpointStore, checkpoint-store = sql) instead:"
            + " its tables (tidemark.checkpoint.sql.checkpoints-table / .history-table) in the database at JDBC_URL (user and"
            + " password from tidemark.checkpoint.sql.user / .password-file in --config); without JDBC_URL, in"
            + " tidemark.checkpoint.sql.url, or when that is empty in the checkpoint database (--checkpoints or --data).")
    String sql;

    /** Whether the command may create the SQL store's tables (an import into a new database); the others only read what is there. */
    boolean creates;

    /** Runs {@code work} with an admin over this database, in a local actor system that lives as long as it. */
    <T> T withAdmin(java.util.function.Function<CheckpointAdmin, T> work) {
      Map<String, Object> options = new HashMap<>();
      if (data != null) options.put("tidemark.demo.data-dir", data.toAbsolutePath().normalize().toString());
      if (url != null) options.putAll(CheckpointDatabase.options(url));
      boolean sqlWithUrl = sql != null && !sql.isEmpty();
      if ((url != null || sqlWithUrl ? 1 : 0) + (mongodb != null ? 1 : 0) + (redis != null ? 1 : 0) > 1
          || (url != null && sqlWithUrl)) {
        throw new io.tidemark.TidemarkException("--checkpoints, --sql JDBC_URL, --mongodb and --redis each name a store: give one"
            + " (--checkpoints JDBC_URL --sql: the SQL store's tables in that database)");
      }
      if (sql != null) return withSqlAdmin(ServiceConfig.load(config, options), work);
      if (mongodb != null) return withMongoAdmin(ServiceConfig.load(config, options), work);
      if (redis != null) return withRedisAdmin(ServiceConfig.load(config, options), work);
      Config loaded = ServiceConfig.load(config, options);
      Config local = ConfigFactory.parseString(String.join("\n",
              "akka.actor.provider = local",
              "akka.loglevel = WARNING",
              "akka.coordinated-shutdown.exit-jvm = off"))
          .withFallback(loaded);
      JournalSchema.check(local, io.tidemark.checkpoint.JdbcCheckpointSettings.create(local).journalPlugin);
      CliLogging.quiet();
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "tidemark-checkpoints", local);
      try {
        CheckpointAdmin admin = new io.tidemark.checkpoint.JdbcCheckpointAdmin(system, Duration.ofSeconds(10));
        return work.apply(admin);
      } finally {
        system.terminate();
        system.getWhenTerminated().toCompletableFuture().join();
      }
    }

    private <T> T withSqlAdmin(Config loaded, java.util.function.Function<CheckpointAdmin, T> work) {
      io.tidemark.checkpoint.SqlCheckpointSettings settings = io.tidemark.checkpoint.SqlCheckpointSettings.create(
          sql.isEmpty() ? loaded : ConfigFactory.parseMap(Map.of("tidemark.checkpoint.sql.url", sql)).withFallback(loaded));
      if (!creates) {
        String readOnly = settings.url;
        if (readOnly.toLowerCase(Locale.ROOT).startsWith("jdbc:h2:file:") && !readOnly.toUpperCase(Locale.ROOT).contains("IFEXISTS")) {
          readOnly = readOnly + ";IFEXISTS=TRUE"; // reading must not create an empty database where there was none
        }
        settings = settings.withUrl(readOnly).withCreateTables(false);
      }
      CliLogging.quiet();
      java.util.concurrent.ExecutorService executor = java.util.concurrent.Executors.newCachedThreadPool(runnable -> {
        Thread thread = new Thread(runnable, "tidemark-checkpoints-sql");
        thread.setDaemon(true);
        return thread;
      });
      try (io.tidemark.checkpoint.SqlCheckpointStore store = io.tidemark.checkpoint.SqlCheckpointStore.create(settings, executor)) {
        CheckpointAdmin admin = new io.tidemark.checkpoint.SqlCheckpointAdmin(store);
        admin.ready();
        return work.apply(admin);
      } finally {
        executor.shutdownNow();
      }
    }

    private <T> T withRedisAdmin(Config loaded, java.util.function.Function<CheckpointAdmin, T> work) {
      io.tidemark.checkpoint.RedisCheckpointSettings settings =
          io.tidemark.checkpoint.RedisCheckpointSettings.create(loaded).withUri(redis);
      CliLogging.quiet();
      try (io.tidemark.checkpoint.RedisCheckpointStore store = io.tidemark.checkpoint.RedisCheckpointStore.create(settings)) {
        CheckpointAdmin admin = new io.tidemark.checkpoint.RedisCheckpointAdmin(store);
        admin.ready();
        return work.apply(admin);
      }
    }

    private <T> T withMongoAdmin(Config loaded, java.util.function.Function<CheckpointAdmin, T> work) {
      io.tidemark.checkpoint.MongoCheckpointSettings settings = io.tidemark.checkpoint.MongoCheckpointSettings.create(loaded);
      io.tidemark.connection.MongoConnector.parse(mongodb);
      CliLogging.quiet();
      try (com.mongodb.reactivestreams.client.MongoClient client = io.tidemark.connection.MongoConnector.connect(mongodb, settings.timeout)) {
        CheckpointAdmin admin = new io.tidemark.checkpoint.MongoCheckpointAdmin(client, settings);
        admin.ready();
        return work.apply(admin);
      }
    }
  }

  @Command(name = "list", description = "The streams in the checkpoint database, with their checkpoints.", mixinStandardHelpOptions = true)
  static final class ListStreams implements Callable<Integer> {
    @Mixin Database database;
    @Spec CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      List<StreamState> states = database.withAdmin(admin -> admin.streams().stream().map(admin::state).toList());
      if (states.isEmpty()) {
        out.println("no streams in the checkpoint database");
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"STREAM", "KIND", "CLUSTER TIME", "SAVED", "EPOCH", "HELD BY", "POSITION"});
      for (StreamState state : states) {
        Checkpoint checkpoint = state.checkpoint().orElse(null);
        rows.add(new String[] {
          state.stream(),
          checkpoint == null ? (state.corruption() != null ? "corrupt" : "none") : checkpoint.kind().label(),
          checkpoint == null ? "-" : Text.time(checkpoint.clusterTime()),
          checkpoint == null ? "-" : Text.instant(checkpoint.savedAt()),
          String.valueOf(state.epoch()),
          state.holder() == 0 ? "-" : "epoch " + state.holder(),
          checkpoint == null ? (state.corruption() != null ? state.corruption() : "-") : checkpoint.position().describe()
        });
      }
      Text.table(out, rows);
      return 0;
    }
  }

  @Command(name = "show", description = "One stream's checkpoint, its holder and its epoch.", mixinStandardHelpOptions = true)
  static final class Show implements Callable<Integer> {
    @Mixin Database database;
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "STREAM", description = "The stream's name.")
    String stream;

    @Override
    public Integer call() {
      StreamState state = database.withAdmin(admin -> admin.state(stream));
      Text.show(spec.commandLine().getOut(), state);
      return 0;
    }
  }

  @Command(name = "history", description = {
      "A stream's checkpoint history, oldest first: events, heartbeats, starts, gaps a policy recorded,",
      "invalidates, rewinds and resets. Routine entries (events, heartbeats) are kept up to",
      "the store's history-size (tidemark.checkpoint.jdbc.history-size, .sql.history-size, ...), and as many",
      "notable ones apart from them."},
      mixinStandardHelpOptions = true)
  static final class History implements Callable<Integer> {
    @Mixin Database database;
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "STREAM", description = "The stream's name.")
    String stream;

    @Option(names = "--limit", paramLabel = "N", description = "Only the newest N entries.")
    Integer limit;

    @Override
    public Integer call() {
      if (limit != null && limit <= 0) {
        throw new CommandLine.ParameterException(spec.commandLine(), "invalid --limit " + limit + ": expected a positive number");
      }
      StreamState state = database.withAdmin(admin -> admin.state(stream));
      List<Checkpoint> history = state.history();
      if (limit != null && history.size() > limit) history = history.subList(history.size() - limit, history.size());
      PrintWriter out = spec.commandLine().getOut();
      if (history.isEmpty()) {
        out.println("no history for '" + stream + "'");
        return 0;
      }
      List<String[]> rows = new ArrayList<>();
      rows.add(new String[] {"SAVED", "KIND", "EPOCH", "CLUSTER TIME", "POSITION", "NOTE"});
      for (Checkpoint entry : history) {
        rows.add(new String[] {
          Text.instant(entry.savedAt()), entry.kind().label(), String.valueOf(entry.epoch()), Text.time(entry.clusterTime()),
          entry.position() == null ? "none" : entry.position().describe(), entry.note() == null ? "" : entry.note()
        });
      }
      Text.table(out, rows);
      return 0;
    }
  }

  /** --yes and --force of the commands that write. */
  static final class Confirm {
    @Option(names = "--yes", description = "Confirm: this changes where the stream resumes.")
    boolean yes;

    @Option(names = "--force", description = "Also while a consumer holds the stream: fences it out (its next checkpoint is refused).")
    boolean force;

    void require(CommandLine command, String what) {
      if (!yes) {
        throw new CommandLine.ParameterException(command, what + " changes where the stream resumes: pass --yes to confirm");
      }
    }
  }

  @Command(name = "rewind", description = {
      "Move a stream's checkpoint to a time (the next run starts with startAtOperationTime) or to a",
      "resume token (resumeAfter). The events after it are delivered again; before it, skipped."},
      mixinStandardHelpOptions = true)
  static final class Rewind implements Callable<Integer> {
    @Mixin Database database;
    @Mixin Confirm confirm;
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "STREAM", description = "The stream's name.")
    String stream;

    @CommandLine.ArgGroup(exclusive = true, multiplicity = "1")
    Target target;

    static final class Target {
      @Option(names = "--to-time", paramLabel = "T", required = true,
          description = "An ISO-8601 time (2026-11-27T10:00:00Z), seconds since the epoch, or Timestamp(SECONDS, INCREMENT).")
      String time;

      @Option(names = "--to-token", paramLabel = "X", required = true,
          description = "A resume token: its JSON ({\"_data\": \"8263...\"}) or the hex of its _data.")
      String token;
    }

    @Override
    public Integer call() {
      BsonTimestamp time = target.time == null ? null : Text.parseTime(spec.commandLine(), target.time);
      BsonDocument token = target.token == null ? null : Text.parseToken(spec.commandLine(), target.token);
      confirm.require(spec.commandLine(), "rewind");
      String note = "rewound by hand (tidemark checkpoints rewind" + (confirm.force ? " --force" : "") + ")";
      StreamState[] states = database.withAdmin(admin -> {
        StreamState before = admin.state(stream);
        return new StreamState[] {before, admin.rewind(stream, token, time, note, confirm.force)};
      });
      PrintWriter out = spec.commandLine().getOut();
      Checkpoint after = states[1].checkpoint().orElseThrow();
      out.println("rewound '" + stream + "' to " + after.position().describe()
          + " (was " + states[0].checkpoint().map(c -> c.position().describe()).orElse("none") + "); epoch " + states[1].epoch()
          + ": the next consumer starts there");
      return 0;
    }
  }

  @Command(name = "reset", description = {
      "Clear a stream's checkpoint: the next run starts at its configured position, or now (events",
      "written meanwhile are skipped). The history keeps the reset."},
      mixinStandardHelpOptions = true)
  static final class Reset implements Callable<Integer> {
    @Mixin Database database;
    @Mixin Confirm confirm;
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "STREAM", description = "The stream's name.")
    String stream;

    @Override
    public Integer call() {
      confirm.require(spec.commandLine(), "reset");
      StreamState[] states = database.withAdmin(admin -> {
        StreamState before = admin.state(stream);
        return new StreamState[] {before, admin.reset(stream, "reset by hand (tidemark checkpoints reset)", confirm.force)};
      });
      spec.commandLine().getOut().println("reset '" + stream + "' (was " + states[0].checkpoint().map(c -> c.position().describe()).orElse("none")
          + "); epoch " + states[1].epoch() + ": the next consumer starts at its configured position, or now");
      return 0;
    }
  }

  @Command(name = "export", description = "Every stream's checkpoint as JSON, to a file or standard output.", mixinStandardHelpOptions = true)
  static final class Export implements Callable<Integer> {
    @Mixin Database database;
    @Spec CommandLine.Model.CommandSpec spec;

    @Option(names = "--out", paramLabel = "FILE", description = "Write to this file (default: standard output).")
    Path file;

    @Override
    public Integer call() throws IOException {
      List<StreamState> states = database.withAdmin(admin -> admin.streams().stream().map(admin::state).toList());
      String json = CheckpointJson.export(states);
      if (file == null) {
        spec.commandLine().getOut().println(json);
      } else {
        Files.writeString(file, json + "\n", StandardCharsets.UTF_8);
        spec.commandLine().getOut().println("exported " + states.stream().filter(s -> s.checkpoint().isPresent()).count()
            + " checkpoints to " + file);
      }
      return 0;
    }
  }

  @Command(name = "import", description = {
      "Set checkpoints from a file written by export: each stream's checkpoint moves to the exported",
      "position (as a rewind). For moving a deployment to another checkpoint database."},
      mixinStandardHelpOptions = true)
  static final class Import implements Callable<Integer> {
    @Mixin Database database;
    @Mixin Confirm confirm;
    @Spec CommandLine.Model.CommandSpec spec;

    @Parameters(paramLabel = "FILE", description = "A file written by `checkpoints export`.")
    Path file;

    @Override
    public Integer call() {
      List<CheckpointJson.Entry> entries = CheckpointJson.read(file);
      confirm.require(spec.commandLine(), "import");
      PrintWriter out = spec.commandLine().getOut();
      database.creates = true; // the SQL store's tables, in a new database (with tidemark.checkpoint.sql.create-tables = on)
      database.withAdmin(admin -> {
        for (CheckpointJson.Entry entry : entries) {
          StreamState after = admin.rewind(entry.stream(), entry.token(), entry.token() == null ? entry.clusterTime() : null,
              "imported from " + file.getFileName() + " (saved " + entry.savedAt() + ")", confirm.force);
          out.println("imported '" + entry.stream() + "': " + after.checkpoint().orElseThrow().position().describe());
        }
        return null;
      });
      out.println("imported " + entries.size() + " checkpoints from " + file);
      return 0;
    }
  }

  /** Parsing and printing for the commands. */
  static final class Text {
    private Text() {}

    private static final Pattern TIMESTAMP = Pattern.compile("Timestamp\\(\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\)");

    static BsonTimestamp parseTime(CommandLine command, String value) {
      String text = value.trim();
      Matcher timestamp = TIMESTAMP.matcher(text);
      try {
        if (timestamp.matches()) return new BsonTimestamp(Integer.parseUnsignedInt(timestamp.group(1)), Integer.parseUnsignedInt(timestamp.group(2)));
        if (text.matches("\\d{1,10}")) return new BsonTimestamp((int) Long.parseLong(text), 0);
        return new BsonTimestamp((int) Instant.parse(text).getEpochSecond(), 0);
      } catch (DateTimeParseException | NumberFormatException e) {
        throw new CommandLine.ParameterException(command, "invalid --to-time '" + value
            + "': expected an ISO-8601 time such as 2026-11-27T10:00:00Z, seconds since the epoch, or Timestamp(1795786416, 1)");
      }
    }

    static BsonDocument parseToken(CommandLine command, String value) {
      String text = value.trim();
      if (text.matches("[0-9A-Fa-f]+")) return new BsonDocument("_data", new BsonString(text));
      try {
        BsonDocument token = BsonDocument.parse(text);
        if (token.get("_data") instanceof BsonString) return token;
      } catch (RuntimeException e) {
        // reported below
      }
      throw new CommandLine.ParameterException(command, "invalid --to-token '" + value
          + "': expected a resume token such as {\"_data\": \"8263...\"} or the hex of its _data");
    }

    static String time(BsonTimestamp time) {
      if (time == null) return "-";
      return "Timestamp(" + Integer.toUnsignedString(time.getTime()) + ", " + Integer.toUnsignedString(time.getInc()) + ") "
          + Instant.ofEpochSecond(Integer.toUnsignedLong(time.getTime()));
    }

    static String instant(Instant at) {
      return at == null ? "-" : at.truncatedTo(java.time.temporal.ChronoUnit.MILLIS).toString();
    }

    static void show(PrintWriter out, StreamState state) {
      Checkpoint checkpoint = state.checkpoint().orElse(null);
      out.println("stream:        " + state.stream());
      if (checkpoint == null) {
        out.println("checkpoint:    " + (state.corruption() != null ? "corrupt: " + state.corruption() : "none (the next run starts at its configured position, or now)"));
      } else {
        out.println("checkpoint:    " + checkpoint.position().describe());
        out.println("kind:          " + checkpoint.kind().label());
        out.println("cluster time:  " + time(checkpoint.clusterTime()));
        out.println("saved:         " + instant(checkpoint.savedAt()) + " by epoch " + checkpoint.epoch());
        if (checkpoint.note() != null) out.println("note:          " + checkpoint.note());
      }
      out.println("epoch:         " + state.epoch());
      out.println("held by:       " + (state.holder() == 0 ? "nobody" : "epoch " + state.holder()
          + (state.heldSince() == null ? "" : " since " + instant(state.heldSince()))));
      out.println("saves:         " + state.saves());
    }

    static void table(PrintWriter out, List<String[]> rows) {
      int columns = rows.get(0).length;
      int[] widths = new int[columns];
      for (String[] row : rows) {
        for (int i = 0; i < columns - 1; i++) widths[i] = Math.max(widths[i], row[i].length());
      }
      for (String[] row : rows) {
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < columns; i++) {
          line.append(i < columns - 1 ? String.format(Locale.ROOT, "%-" + widths[i] + "s  ", row[i]) : row[i]);
        }
        out.println(line.toString().stripTrailing());
      }
    }
  }

  /** The export format: {"exportedAt": ..., "streams": [{"stream", "token", "clusterTime": {"t", "i"}, "kind", "savedAt", "epoch", "note", "snapshot"}]}. */
  static final class CheckpointJson {
    private CheckpointJson() {}

    private static final ObjectMapper JSON = new ObjectMapper();

    record Entry(String stream, BsonDocument token, BsonTimestamp clusterTime, String savedAt) {}

    static String export(List<StreamState> states) {
      ObjectNode root = JSON.createObjectNode();
      root.put("exportedAt", Instant.now().toString());
      ArrayNode streams = root.putArray("streams");
      for (StreamState state : states) {
        if (state.checkpoint().isEmpty()) continue;
        Checkpoint checkpoint = state.checkpoint().get();
        ObjectNode entry = streams.addObject();
        entry.put("stream", state.stream());
        if (checkpoint.resumeToken() != null) entry.set("token", parse(checkpoint.resumeToken().toJson()));
        if (checkpoint.clusterTime() != null) {
          ObjectNode time = entry.putObject("clusterTime");
          time.put("t", Integer.toUnsignedLong(checkpoint.clusterTime().getTime()));
          time.put("i", Integer.toUnsignedLong(checkpoint.clusterTime().getInc()));
        }
        entry.put("kind", checkpoint.kind().label());
        entry.put("savedAt", checkpoint.savedAt().toString());
        entry.put("epoch", checkpoint.epoch());
        if (checkpoint.note() != null) entry.put("note", checkpoint.note());
        if (checkpoint.inSnapshot()) entry.set("snapshot", parse(checkpoint.snapshotJson()));
      }
      try {
        return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }

    static List<Entry> read(Path file) {
      JsonNode root;
      try {
        root = JSON.readTree(Files.readString(file, StandardCharsets.UTF_8));
      } catch (java.nio.file.NoSuchFileException e) {
        throw new TidemarkException("no such file: " + file);
      } catch (IOException e) {
        throw new TidemarkException(file + " is not JSON: " + io.tidemark.Errors.oneLine(e.getMessage())
            + " (expected a file written by `tidemark checkpoints export`)");
      }
      if (root == null || !root.path("streams").isArray()) {
        throw new TidemarkException(file + " has no \"streams\" array: expected a file written by `tidemark checkpoints export`");
      }
      List<Entry> entries = new ArrayList<>();
      int index = 0;
      for (JsonNode node : root.get("streams")) {
        String where = file + ": streams[" + index++ + "]";
        String stream = node.path("stream").asText(null);
        if (stream == null || stream.isBlank()) throw new TidemarkException(where + " has no \"stream\" name");
        if (node.hasNonNull("snapshot") || "snapshot".equals(node.path("kind").asText(null))) {
          throw new TidemarkException(where + " (" + stream + "): exported in the middle of a snapshot; an import cannot carry"
              + " snapshot progress (it would skip the documents not yet copied): leave the stream out, or reset it to copy again");
        }
        BsonDocument token = null;
        if (node.hasNonNull("token")) {
          try {
            token = BsonDocument.parse(node.get("token").toString());
          } catch (RuntimeException e) {
            throw new TidemarkException(where + " (" + stream + "): token is not a document");
          }
          if (!(token.get("_data") instanceof BsonString)) {
            throw new TidemarkException(where + " (" + stream + "): token has no _data string, expected {\"_data\": \"8263...\"}");
          }
        }
        BsonTimestamp time = null;
        if (node.hasNonNull("clusterTime")) {
          JsonNode t = node.get("clusterTime");
          if (!t.path("t").canConvertToLong() || !t.path("i").canConvertToLong()) {
            throw new TidemarkException(where + " (" + stream + "): clusterTime must be {\"t\": seconds, \"i\": increment}");
          }
          time = new BsonTimestamp((int) t.get("t").asLong(), (int) t.get("i").asLong());
        }
        if (token == null && time == null) throw new TidemarkException(where + " (" + stream + ") has neither token nor clusterTime");
        entries.add(new Entry(stream, token, time, node.path("savedAt").asText("unknown")));
      }
      return entries;
    }

    private static JsonNode parse(String json) {
      try {
        return JSON.readTree(json);
      } catch (IOException e) {
        throw new IllegalStateException(e);
      }
    }
  }
}
