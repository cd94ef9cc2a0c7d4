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
 * port. See {@link EmbeddedBackend} and {@link ReplicaSetBackend} for what they add to behave like a
 * replica-set member.
 */
public final class EmbeddedMongo implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedMongo.class);

  public static final String STORE_FILE = "mongo.mv.db";
  /** Beside the store: the version of its newest commit ({@link CommitMark}). */
  static final String COMMIT_MARK_FILE = "mongo.commit";
  private final MongoServer server;
  private final ReplicaSetBackend backend;
  private final CommitMark mark;
  private final String connectionString;
  private final String description;

  private EmbeddedMongo(MongoServer server, ReplicaSetBackend backend, CommitMark mark, String connectionString, String description) {
    this.server = server;
    this.backend = backend;
    this.mark = mark;
    this.connectionString = connectionString;
    this.description = description;
  }

  /**
   * Starts a server on {@code host:port} (port 0: any free one) over the data in {@code dataDir},
   * or in memory when null. Returns once it is fully open — store, databases, oplog — and
   * listening; it listens only then, so nothing can connect to a server still opening its files.
   */
  public static EmbeddedMongo start(Path dataDir, String host, int port, EmbeddedSettings settings) {
    long startedAt = System.nanoTime();
    MVStore store = openStore(dataDir, settings);
    CommitMark mark = dataDir == null ? null : CommitMark.open(dataDir.resolve(COMMIT_MARK_FILE));
    ReplicaSetBackend backend;
    try {
      backend = new ReplicaSetBackend(store, settings, mark == null ? version -> {} : mark::mark);
    } catch (RuntimeException e) {
      store.closeImmediately();
      if (mark != null) mark.close();
      throw e;
    }
    MongoServer server = new MongoServer(backend);
    server.enableOplog();
    backend.commits().commit();
    if (!settings.commitBeforeAck) backend.commits().commitEvery(java.time.Duration.ofSeconds(1));
    try {
      server.bind(new InetSocketAddress(host, port), 1, settings.eventLoops);
    } catch (Exception e) { // Netty throws the checked BindException undeclared: close the store either way
      server.shutdownNow();
      backend.close();
      if (mark != null) mark.close();
      throw new TidemarkException(
          "embedded MongoDB could not listen on " + host + ":" + port + ": " + Errors.oneLine(e.getMessage())
              + " (choose another port, or 0 for any free one)", e);
    }
    InetSocketAddress address = server.getLocalAddress();
    backend.bound(address);
    String uri = "mongodb://" + address.getHostString() + ":" + address.getPort();
    long openMillis = (System.nanoTime() - startedAt) / 1_000_000;
    String description = dataDir == null ? "in memory" : dataDir.resolve(STORE_FILE) + ", " + megabytes(store) + " MB";
    log.info("embedded MongoDB listening on {} ({}; opened in {} ms)", uri, description, openMillis);
    return new EmbeddedMongo(server, backend, mark, uri, description + ", opened in " + openMillis + " ms");
  }

  private static long megabytes(MVStore store) {
    return store.getFileStore() == null ? 0 : store.getFileStore().size() / (1024 * 1024);
  }

  /**
   * Waits until the server answers a ping through its port, as a client reaches it. It is open
   * and listening by then, so what it waits for is CPU: pings are repeated, a line every 5 s says
   * that it waits, and only after {@code limit} does it give up, saying that the cause is this
   * process, not the network, with how busy the machine and the heap are.
   */
  public void awaitAnswering(java.time.Duration limit) {
    long start = System.nanoTime();
    long nextReport = java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
    int attemptMillis = (int) Math.min(limit.toMillis(), 5_000);
    com.mongodb.MongoClientSettings clientSettings = com.mongodb.MongoClientSettings.builder()
        .applyConnectionString(new com.mongodb.ConnectionString(connectionString))
        .applyToClusterSettings(b -> b.serverSelectionTimeout(attemptMillis, java.util.concurrent.TimeUnit.MILLISECONDS))
        .applyToSocketSettings(b -> b.connectTimeout(attemptMillis, java.util.concurrent.TimeUnit.MILLISECONDS)
            .readTimeout(attemptMillis, java.util.concurrent.TimeUnit.MILLISECONDS))
        .build();
    try (com.mongodb.client.MongoClient client = com.mongodb.client.MongoClients.create(clientSettings)) {
      while (true) {
        try {
          client.getDatabase("admin").runCommand(new org.bson.Document("ping", 1));
          return;
        } catch (com.mongodb.MongoTimeoutException | com.mongodb.MongoSocketException e) {
          long waited = System.nanoTime() - start;
          if (waited >= limit.toNanos()) throw starved(limit, e);
          if (waited >= nextReport) {
            log.info("the embedded MongoDB of this process listens on {} but has not answered a ping yet ({} s; {}): waiting up to {} s"
                + " (tidemark.mongodb.start-timeout)", connectionString, java.util.concurrent.TimeUnit.NANOSECONDS.toSeconds(waited), load(),
                limit.toSeconds());
            nextReport += java.util.concurrent.TimeUnit.SECONDS.toNanos(5);
          }
          java.util.concurrent.locks.LockSupport.parkNanos(java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(100));
        }
      }
    }
  }

  private TidemarkException starved(java.time.Duration limit, RuntimeException cause) {
    return new TidemarkException(String.format(java.util.Locale.ROOT,
        "the embedded MongoDB of this process (%s) is open and listening on %s but did not answer a ping within %d s"
            + " (tidemark.mongodb.start-timeout): this process got too little CPU to answer — %s;"
            + " raise tidemark.mongodb.start-timeout or give the machine fewer jobs (%s)",
        description, connectionString, limit.toSeconds(), load(), Errors.oneLine(cause.getMessage())),
        cause);
  }

  /** How busy the machine and the heap are. */
  private static String load() {
    Runtime runtime = Runtime.getRuntime();
    return String.format(java.util.Locale.ROOT, "the load average is %.1f on %d cores, the heap %d of %d MB full",
        java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage(), runtime.availableProcessors(),
        (runtime.totalMemory() - runtime.freeMemory()) / (1024 * 1024), runtime.maxMemory() / (1024 * 1024));
  }

  public static EmbeddedMongo inMemory(EmbeddedSettings settings) {
    return start(null, "127.0.0.1", 0, settings);
  }

  /**
   * The store never commits by itself — neither in the background nor when unsaved changes pile
   * up — so that it never stores a write half-done: {@link GroupCommit} commits, between writes.
   *
   * <p>A chunk that no commit needs any more is written over at once (retention time 0): with
   * MVStore's default retention (45 s) the file keeps every chunk of the last 45 s, hundreds of
   * megabytes at a few hundred commits a second, and even 2 s tripled a file under single-document
   * writes. The price: a commit can write over a chunk that the chain from the file header still
   * leads through, and after a crash before the header is rewritten MVStore's quick recovery
   * settles on an older commit (EmbeddedCrashIT saw it once in 120 kills; h2database#2752,
   * #4083). So the store must reopen at the newest commit that acknowledged writes, which the
   * {@link CommitMark} beside it names: when it does not, it is recovered from a scan of the whole
   * file (MVStore's recovery mode) and reopened, and refused if even that falls short.
   */
  private static MVStore openStore(Path dataDir, EmbeddedSettings settings) {
    if (dataDir == null) return new MVStore.Builder().open();
    Path file = dataDir.resolve(STORE_FILE);
    try {
      Files.createDirectories(dataDir);
    } catch (IOException e) {
      throw new TidemarkException("cannot create data directory " + dataDir + ": " + why(e) + "; expected a directory (--data DIR)", e);
    }
    if (Files.isRegularFile(file)) {
      // Opening a large store, or recovering one a crash left, takes a while: say what is going on before it.
      log.info("embedded MongoDB: opening {} ({} MB); it listens once open", file, file.toFile().length() / (1024 * 1024));
    }
    long marked = CommitMark.read(dataDir.resolve(COMMIT_MARK_FILE));
    MVStore store = null;
    String problem;
    try {
      store = open(dataDir, settings, false);
      problem = "reopened at commit " + store.getCurrentVersion();
    } catch (StoreUnreadable e) {
      if (marked == 0) throw e;
      problem = "did not open (" + Errors.oneLine(e.getMessage()) + ")";
    }
    if (store == null || store.getCurrentVersion() < marked) {
      log.warn("{} {}, but commit {} had acknowledged writes: recovering it from a scan of the whole file", file, problem, marked);
      if (store != null) store.closeImmediately();
      open(dataDir, settings, true).close();
      store = open(dataDir, settings, false);
      if (store.getCurrentVersion() < marked) {
        long reached = store.getCurrentVersion();
        store.closeImmediately();
        throw new TidemarkException(file + " holds commits up to " + reached + " only, but commit " + marked
            + " had acknowledged writes: the file lost them. Keep it for a post-mortem; delete " + dataDir.resolve(COMMIT_MARK_FILE)
            + " to open it as it is");
      }
      log.warn("{} recovered: at commit {}", file, store.getCurrentVersion());
    }
    if (store.getMapNames().stream().anyMatch(name -> name.startsWith("databases."))) {
      store.closeImmediately();
      throw new TidemarkException("data directory " + dataDir + " holds the embedded MongoDB of an earlier Tidemark version, which"
          + " stored documents Java-serialized; this version stores BSON and does not read that format: move " + file
          + " away (or delete it: the demo writes its data again)");
    }
    store.setRetentionTime(0);
    return store;
  }

  private static MVStore open(Path dataDir, EmbeddedSettings settings, boolean recovery) {
    Path file = dataDir.resolve(STORE_FILE);
    MVStore.Builder builder = new MVStore.Builder().fileName(file.toString())
        .autoCommitDisabled()
        .autoCommitBufferSize(0)
        .cacheSize(settings.cacheMegabytes);
    if (recovery) builder.recoveryMode();
    try {
      return builder.open();
    } catch (RuntimeException e) {
      if (String.valueOf(e.getMessage()).contains("locked")) {
        throw new TidemarkException(
            "data directory " + dataDir + " is in use by another Tidemark process (" + file
                + " is locked): stop it first, or pass --mongodb URI to use a running server");
      }
      throw new StoreUnreadable("cannot open the embedded MongoDB store " + file + ": " + Errors.oneLine(e.getMessage()), e);
    }
  }

  /** Why a file operation failed, without the path its message is (FileAlreadyExistsException's is the path alone). */
  private static String why(IOException e) {
    if (e instanceof java.nio.file.FileAlreadyExistsException) return "a file of that name is in the way";
    if (e instanceof java.nio.file.AccessDeniedException) return "permission denied";
    if (e instanceof java.nio.file.FileSystemException system && system.getReason() != null) return system.getReason();
    return Errors.summary(e);
  }

  /** The store file is there but cannot be opened as it is. */
  private static final class StoreUnreadable extends TidemarkException {
    private static final long serialVersionUID = 1L;

    StoreUnreadable(String message, Throwable cause) {
      super(message, cause);
    }
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
    if (mark != null) mark.close();
    log.info("embedded MongoDB stopped");
  }
}
