package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoServer;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.h2.mvstore.MVStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The embedded MongoDB of the default set-up: mongo-java-server with its H2 backend, data and
 * oplog in {@code <data-dir>/mongo.mv.db} (or in memory), speaking the wire protocol on a local
 * port. See {@link EmbeddedBackend} for what it adds to behave like a replica-set member.
 */
public final class EmbeddedMongo implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedMongo.class);

  public static final String STORE_FILE = "mongo.mv.db";

  private final MongoServer server;
  private final EmbeddedBackend backend;
  private final String connectionString;

  private EmbeddedMongo(MongoServer server, EmbeddedBackend backend, String connectionString) {
    this.server = server;
    this.backend = backend;
    this.connectionString = connectionString;
  }

  /** Starts a server on {@code host:port} (port 0: any free one) over the data in {@code dataDir}, or in memory when null. */
  public static EmbeddedMongo start(Path dataDir, String host, int port, EmbeddedSettings settings) {
    MVStore store = openStore(dataDir, settings);
    // Chunks freed by a commit may be overwritten at once: commits are frequent, and a crash of
    // the process (not of the machine) never sees a half-written chunk.
    store.setRetentionTime(0);
    EmbeddedBackend backend;
    try {
      backend = new EmbeddedBackend(store, settings);
    } catch (RuntimeException e) {
      store.closeImmediately();
      throw e;
    }
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    backend.commits().commit();
    if (!settings.commitBeforeAck) backend.commits().commitEvery(java.time.Duration.ofSeconds(1));
    try {
      server.bind(new InetSocketAddress(host, port), 1, settings.eventLoops);
    } catch (RuntimeException e) {
      backend.close();
      throw new TidemarkException(
          "embedded MongoDB could not listen on " + host + ":" + port + ": " + Errors.oneLine(e.getMessage())
              + " (choose another port, or 0 for any free one)", e);
    }
    InetSocketAddress address = server.getLocalAddress();
    String uri = "mongodb://" + address.getHostString() + ":" + address.getPort();
    log.info("embedded MongoDB listening on {} ({})", uri, dataDir == null ? "in memory" : dataDir.resolve(STORE_FILE));
    return new EmbeddedMongo(server, backend, uri);
  }

  public static EmbeddedMongo inMemory(EmbeddedSettings settings) {
    return start(null, "127.0.0.1", 0, settings);
  }

  /**
   * The store never commits by itself — neither in the background nor when unsaved changes pile
   * up — so that it never stores a write half-done: {@link GroupCommit} commits, between writes.
   */
  private static MVStore openStore(Path dataDir, EmbeddedSettings settings) {
    if (dataDir == null) return new MVStore.Builder().open();
    Path file = dataDir.resolve(STORE_FILE);
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new TidemarkException("cannot create data directory " + dataDir + ": " + Errors.oneLine(e.getMessage()), e);
    }
    MVStore store;
    try {
      store = new MVStore.Builder().fileName(file.toString())
          .autoCommitDisabled()
          .autoCommitBufferSize(0)
          .cacheSize(settings.cacheMegabytes)
          .open();
    } catch (RuntimeException e) {
      if (String.valueOf(e.getMessage()).contains("locked")) {
        throw new TidemarkException(
            "data directory " + dataDir + " is in use by another Tidemark process (" + file
                + " is locked): stop it first, or pass --mongodb URI to use a running server");
      }
      throw new TidemarkException("cannot open the embedded MongoDB store " + file + ": " + Errors.oneLine(e.getMessage()), e);
    }
    if (store.getMapNames().stream().anyMatch(name -> name.startsWith("databases."))) {
      store.closeImmediately();
      throw new TidemarkException("data directory " + dataDir + " holds the embedded MongoDB of an earlier Tidemark version, which"
          + " stored documents Java-serialized; this version stores BSON and does not read that format: move " + file
          + " away (or delete it: the demo writes its data again)");
    }
    return store;
  }

  public String connectionString() {
    return connectionString;
  }

  /** Kills every open change-stream cursor: the next getMore of each fails with CursorNotFound (43). */
  public int killChangeStreamCursors() {
    return backend.killChangeStreamCursors();
  }

  public int port() {
    return server.getLocalAddress().getPort();
  }

  /** Stops listening and closes the store; the data stays on disk. */
  @Override
  public void close() {
    server.shutdownNow();
    backend.close();
    log.info("embedded MongoDB stopped");
  }
}
