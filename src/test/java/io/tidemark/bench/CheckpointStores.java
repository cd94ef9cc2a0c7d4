package io.tidemark.bench;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.javadsl.Behaviors;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import com.typesafe.config.Config;
import com.typesafe.config.ConfigFactory;
import io.tidemark.Databases;
import io.tidemark.TestConfigs;
import io.tidemark.checkpoint.CheckpointStore;
import io.tidemark.checkpoint.InMemoryCheckpointStore;
import io.tidemark.checkpoint.JdbcCheckpointStore;
import io.tidemark.checkpoint.MongoCheckpointStore;
import io.tidemark.checkpoint.RedisCheckpointSettings;
import io.tidemark.checkpoint.RedisCheckpointStore;
import io.tidemark.checkpoint.SqlCheckpointSettings;
import io.tidemark.checkpoint.SqlCheckpointStore;
import io.tidemark.embedded.EmbeddedMongo;
import io.tidemark.embedded.EmbeddedSettings;
import java.nio.file.Files;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The checkpoint stores the benchmarks measure, each with the actor system it runs in: in memory,
 * H2 and PostgreSQL (each event-sourced, then plain SQL), MongoDB and Redis; a new store is one more factory in {@link #all()}. A factory
 * returns {@link Unavailable} when its store cannot run here (PostgreSQL not reachable), and the
 * benchmark says so instead of measuring.
 */
final class CheckpointStores {
  private CheckpointStores() {}

  /** A store ready to use; {@link #close()} stops its actor system and removes what it created. */
  record Opened(ActorSystem<Void> system, CheckpointStore store, Runnable cleanup) implements AutoCloseable {
    @Override
    public void close() {
      system.terminate();
      system.getWhenTerminated().toCompletableFuture().join();
      cleanup.run();
    }
  }

  /** Thrown by a factory whose store cannot run here, with the reason. */
  static final class Unavailable extends Exception {
    Unavailable(String reason) {
      super(reason);
    }
  }

  interface Opener {
    Opened open() throws Exception;
  }

  record Factory(String name, String description, Opener opener) {}

  static Config quiet() {
    return ConfigFactory.parseString("akka.loglevel = WARNING").withFallback(ConfigFactory.load());
  }

  /** Every store to measure, in the order of the report. */
  static List<Factory> all() {
    List<Factory> factories = new ArrayList<>();
    factories.add(new Factory("in-memory", "`InMemoryCheckpointStore` (tests; not durable)", () -> {
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-memory", quiet());
      return new Opened(system, InMemoryCheckpointStore.create(), () -> {});
    }));
    factories.add(new Factory("H2", "`JdbcCheckpointStore` on an H2 file (`WRITE_DELAY=0`), the embedded default", () -> {
      var dir = Files.createTempDirectory("tidemark-bench-h2");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-h2",
          TestConfigs.h2FileJournal(dir.resolve("checkpoints").toString()).withFallback(quiet()));
      return ready(system, () -> {});
    }));
    factories.add(new Factory("H2, plain SQL", "`SqlCheckpointStore` on an H2 file (`WRITE_DELAY=0`) of its own: one conditional `UPDATE`"
        + " of the stream's row and one of its history slot per save, in one transaction; no journal, no entity", () -> {
      var dir = Files.createTempDirectory("tidemark-bench-h2-sql");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-h2-sql", quiet());
      return sql(system, "jdbc:h2:file:" + dir.resolve("checkpoints") + ";DB_CLOSE_ON_EXIT=FALSE;WRITE_DELAY=0", "sa", "", () -> {});
    }));
    factories.add(new Factory("PostgreSQL", "`JdbcCheckpointStore` on PostgreSQL at " + Databases.PG_URL + " (local, a fresh schema)", () -> {
      try (Connection connection = DriverManager.getConnection(Databases.PG_URL, Databases.PG_USER, Databases.PG_PASSWORD)) {
        connection.isValid(2);
      } catch (java.sql.SQLException e) {
        throw new Unavailable("PostgreSQL at " + Databases.PG_URL + " is not reachable: " + e.getMessage());
      }
      String schema = Databases.createSchema("tidemark_bench");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-postgres",
          TestConfigs.journal(Databases.pgUrl(schema), "slick.jdbc.PostgresProfile$", "org.postgresql.Driver",
              Databases.PG_USER, Databases.PG_PASSWORD).withFallback(quiet()));
      return ready(system, () -> Databases.dropSchema(schema));
    }));
    factories.add(new Factory("PostgreSQL, plain SQL", "`SqlCheckpointStore` on the same PostgreSQL (a fresh schema): the same two"
        + " statements per save", () -> {
      try (Connection connection = DriverManager.getConnection(Databases.PG_URL, Databases.PG_USER, Databases.PG_PASSWORD)) {
        connection.isValid(2);
      } catch (java.sql.SQLException e) {
        throw new Unavailable("PostgreSQL at " + Databases.PG_URL + " is not reachable: " + e.getMessage());
      }
      String schema = Databases.createSchema("tidemark_bench_sql");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-postgres-sql", quiet());
      return sql(system, Databases.pgUrl(schema), Databases.PG_USER, Databases.PG_PASSWORD, () -> Databases.dropSchema(schema));
    }));
    factories.add(new Factory("MongoDB", "`MongoCheckpointStore` in an embedded MongoDB of its own, on a file and acknowledging"
        + " a write only once it is committed (the embedded default's durability)", () -> {
      var dir = Files.createTempDirectory("tidemark-bench-mongo-checkpoints");
      EmbeddedMongo server = EmbeddedMongo.start(dir, "127.0.0.1", 0, EmbeddedSettings.defaults());
      MongoClient client = MongoClients.create(server.connectionString());
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-mongo", quiet());
      return new Opened(system, MongoCheckpointStore.create(client, system), () -> {
        client.close();
        server.close();
      });
    }));
    factories.add(new Factory("Redis", "`RedisCheckpointStore` on Redis at " + io.tidemark.RedisServers.URI
        + " (local, with its persistence as found: see below; a key prefix of its own), one Lua script per save", () -> {
      try {
        io.tidemark.RedisServers.requireRedis();
      } catch (RuntimeException | AssertionError e) {
        throw new Unavailable("Redis at " + io.tidemark.RedisServers.URI + " is not reachable: " + e.getMessage());
      }
      String prefix = io.tidemark.RedisServers.uniquePrefix("bench");
      ActorSystem<Void> system = ActorSystem.create(Behaviors.empty(), "bench-redis", quiet());
      RedisCheckpointStore store = RedisCheckpointStore.create(
          RedisCheckpointSettings.create(quiet()).withUri(io.tidemark.RedisServers.URI).withKeyPrefix(prefix));
      return new Opened(system, store, () -> {
        store.close();
        io.tidemark.RedisServers.deleteKeys(prefix);
      });
    }));
    return factories;
  }

  private static Opened sql(ActorSystem<Void> system, String url, String user, String password, Runnable cleanup) {
    SqlCheckpointSettings settings = SqlCheckpointSettings.create(
        ConfigFactory.parseString("tidemark.checkpoint.sql.url = \"jdbc:h2:mem:unused\"").withFallback(quiet())).withDatabase(url, user, password);
    SqlCheckpointStore store = SqlCheckpointStore.create(settings, system.dispatchers().lookup(DispatcherSelector.blocking()));
    return new Opened(system, store, () -> {
      store.close();
      cleanup.run();
    });
  }

  private static Opened ready(ActorSystem<Void> system, Runnable cleanup) throws Exception {
    JdbcCheckpointStore store = JdbcCheckpointStore.create(system);
    store.ready().toCompletableFuture().get(1, TimeUnit.MINUTES);
    return new Opened(system, store, cleanup);
  }
}
