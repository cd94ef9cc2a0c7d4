package io.tidemark.connection;


import com.mongodb.ConnectionString;
import com.mongodb.MongoClientSettings;
import com.mongodb.MongoTimeoutException;
import com.mongodb.connection.ClusterDescription;
import com.mongodb.connection.ServerDescription;
import com.mongodb.connection.TransportSettings;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoClients;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.atomic.AtomicInteger;
import org.bson.Document;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Opens MongoDB clients from a connection string with bounded waits, and turns a wrong URI or an
 * unreachable server into one clear line. Credentials never appear in a message: use
 * {@link #redact(String)} whenever a URI is shown, {@link #hosts(String)} in log lines.
 */
@akka.annotation.InternalApi
public final class MongoConnector {
  private MongoConnector() {}

  private static final Logger log = LoggerFactory.getLogger(MongoConnector.class);
  private static final long FIRST_REPORT_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final long REPORT_EVERY_NANOS = TimeUnit.SECONDS.toNanos(5);

  /** Parses the URI, or explains what form was expected. */
  public static ConnectionString parse(String uri) {
    if (uri == null || uri.isBlank()) {
      throw new TidemarkException("MongoDB URI is empty: expected mongodb://host:port or mongodb+srv://host");
    }
    try {
      return new ConnectionString(uri);
    } catch (IllegalArgumentException e) {
      throw new TidemarkException(
          "malformed MongoDB URI '" + redact(uri) + "': " + uriProblem(e)
              + " (expected mongodb://[user:password@]host[:port][/?options] or mongodb+srv://host)");
    }
  }

  /**
   * What the driver found wrong with a URI, told without echoing any of it: its decoder quotes the
   * characters after a bad percent-escape ({@code Error at index 0 in: "Se"}), which may be the password's.
   */
  private static String uriProblem(IllegalArgumentException e) {
    String message = String.valueOf(e.getMessage());
    if (message.contains("URLDecoder") || message.contains("escape (%)")) {
      return "a malformed percent-escape (% must be followed by two hexadecimal digits; write % itself as %25)";
    }
    return Errors.oneLine(message);
  }

  /** A client whose server selection and connects give up after {@code timeout}. */
  public static MongoClient connect(String uri, Duration timeout) {
    return MongoClients.create(settings(uri, timeout, null));
  }

  /**
   * A client for the streams of a deployment: with a listener that learns where each failure came
   * from and which stream's command it was ({@link CommandTags}), and {@code ioThreads} threads of
   * its own for its sockets' I/O (the JDK's shared pool would grow with the replies that arrive at
   * once, which is with the number of streams), shut down with the client.
   */
  public static MongoClient connectShared(String uri, Duration timeout, CommandFailures failures, int ioThreads) {
    MongoClientSettings settings = settings(uri, timeout, failures);
    ExecutorService io = Executors.newFixedThreadPool(ioThreads, ioThreadFactory(MongoConnector.hosts(uri)));
    try {
      return MongoClients.create(MongoClientSettings.builder(settings)
          .transportSettings(TransportSettings.asyncBuilder().executorService(io).build())
          .build());
    } catch (RuntimeException e) {
      io.shutdown();
      throw e;
    }
  }

  private static ThreadFactory ioThreadFactory(String hosts) {
    AtomicInteger next = new AtomicInteger();
    return task -> {
      Thread thread = new Thread(task, "tidemark-mongodb-io-" + next.incrementAndGet() + " " + hosts);
      thread.setDaemon(true);
      return thread;
    };
  }

  /** A blocking client with the same settings, for the few things only the sync API does. */
  public static com.mongodb.client.MongoClient connectSync(String uri, Duration timeout) {
    return com.mongodb.client.MongoClients.create(settings(uri, timeout, null));
  }

  private static MongoClientSettings settings(String uri, Duration timeout, CommandFailures failures) {
    ConnectionString connection = parse(uri);
    MongoClientSettings.Builder builder =
        MongoClientSettings.builder()
            .applyConnectionString(connection)
            .applyToClusterSettings(b -> b.serverSelectionTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS))
            .applyToSocketSettings(b -> b.connectTimeout((int) Math.min(Integer.MAX_VALUE, timeout.toMillis()), TimeUnit.MILLISECONDS));
    if (failures != null) builder.addCommandListener(failures).contextProvider(CommandTags.PROVIDER);
    return builder.build();
  }

  /**
   * Waits, at a process's start, until MongoDB is up: until a server of the URI answers the driver's
   * {@code hello} and takes writes. A server that is still starting does not listen yet (the
   * embedded one of {@code mongo} listens only once its store is open, recovered after a crash) or
   * has no primary yet; waiting for its own answer, not for a fixed time, makes a start after a
   * crash independent of how long that recovery takes on a busy machine. Logs after a second, and
   * then every 5 s, that it waits and why; gives up after {@code limit} (zero: returns at once,
   * and the first command waits up to the connect timeout). The driver's monitor does not log in,
   * so a wrong password is not waited on: the first command reports it.
   */
  public static void awaitStarted(String uri, Duration connectTimeout, Duration limit) {
    if (limit.isZero()) return;
    String hosts = hosts(uri);
    long start = System.nanoTime();
    long nextReport = FIRST_REPORT_NANOS;
    try (MongoClient client = connect(uri, connectTimeout)) {
      while (true) {
        ClusterDescription cluster = client.getClusterDescription();
        long waited = System.nanoTime() - start;
        if (cluster.hasWritableServer()) {
          if (nextReport > FIRST_REPORT_NANOS) log.info("MongoDB at {} answers, after {} s", hosts, TimeUnit.NANOSECONDS.toSeconds(waited));
          return;
        }
        if (waited >= limit.toNanos()) {
          throw new TidemarkException("MongoDB unreachable at " + hosts + " after " + limit.toSeconds()
              + "s (tidemark.mongodb.start-timeout): " + whyNotUp(cluster));
        }
        if (waited >= nextReport) {
          log.info("waiting for MongoDB at {} to answer ({}): {} s so far, up to {} s (tidemark.mongodb.start-timeout)",
              hosts, whyNotUp(cluster), TimeUnit.NANOSECONDS.toSeconds(waited), limit.toSeconds());
          nextReport += REPORT_EVERY_NANOS;
        }
        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
      }
    }
  }

  /** What each server of the cluster said, or failed with: hosts and causes, never credentials. */
  private static String whyNotUp(ClusterDescription cluster) {
    if (cluster.getSrvResolutionException() != null) return rootCause(cluster.getSrvResolutionException());
    List<String> servers = new ArrayList<>();
    for (ServerDescription server : cluster.getServerDescriptions()) {
      String state = server.getException() != null ? rootCause(server.getException())
          : server.isOk() ? "answers as " + server.getType() + ", no primary yet" : "no answer yet";
      servers.add(server.getAddress() + ": " + state);
    }
    return servers.isEmpty() ? "no server known yet" : String.join("; ", servers);
  }

  private static String rootCause(Throwable error) {
    Throwable root = error;
    while (root.getCause() != null && root.getCause() != root) root = root.getCause();
    return root.getClass().getSimpleName() + (root.getMessage() == null ? "" : ": " + Errors.oneLine(root.getMessage()));
  }

  /**
   * Pings the server. The reply carries {@code operationTime} on replica sets. An unreachable
   * server fails with a message that names the hosts and the time waited.
   */
  public static CompletionStage<Document> ping(MongoClient client, String uri, Duration timeout) {
    return ping(client, uri, timeout, null);
  }

  /** The same, counted for {@code stream} when it fails ({@link CommandTags}; null: for no stream). */
  public static CompletionStage<Document> ping(MongoClient client, String uri, Duration timeout, String stream) {
    Publisher<Document> ping = client.getDatabase("admin").runCommand(new Document("ping", 1));
    return first(stream == null ? ping : CommandTags.forStream(stream, ping))
        .exceptionallyCompose(
            error -> {
              Throwable cause = Errors.unwrap(error);
              if (cause instanceof MongoTimeoutException) {
                return CompletableFuture.failedFuture(
                    new TidemarkException(
                        "MongoDB unreachable at " + hosts(uri) + " after " + timeout.toSeconds()
                            + "s (tidemark.mongodb.connect-timeout): " + Errors.oneLine(cause.getMessage()),
                        cause));
              }
              return CompletableFuture.failedFuture(cause);
            });
  }

  /**
   * The URI as it may be shown: {@code mongodb://user:***@host/...}. Also for a URI that does not
   * parse, whatever its scheme: everything between the scheme and the last {@code @} is taken for
   * the user information, so that a password with an unescaped {@code @} or {@code /} is hidden
   * whole; of it only the user name before the first {@code :} is kept.
   */
  public static String redact(String uri) {
    if (uri == null) return null;
    int at = uri.lastIndexOf('@');
    if (at < 0) return hideCredentialOptions(uri);
    int start = userInfoStart(uri, at);
    String userInfo = uri.substring(start, at);
    int colon = userInfo.indexOf(':');
    return uri.substring(0, start) + (colon < 0 ? "***" : userInfo.substring(0, colon) + ":***") + hideCredentialOptions(uri.substring(at));
  }

  /**
   * Options whose value is or holds a credential: {@code authMechanismProperties} (an AWS session
   * token, an OIDC token resource), the TLS key passwords, and, to be safe, any option whose name
   * says password, secret, token or key.
   */
  private static final java.util.regex.Pattern CREDENTIAL_OPTION = java.util.regex.Pattern.compile(
      "(?i)([?&;](?:authMechanismProperties|[a-z_]*(?:password|secret|token|key))=)[^&;#]*");

  private static String hideCredentialOptions(String uri) {
    return CREDENTIAL_OPTION.matcher(uri).replaceAll("$1***");
  }

  /** Where the user information begins: after {@code scheme://} (or {@code scheme:} and any slashes), else at 0. */
  private static int userInfoStart(String uri, int at) {
    int scheme = uri.indexOf(':');
    if (scheme < 0 || scheme > at || !uri.substring(0, scheme).matches("[A-Za-z][A-Za-z0-9+.-]*")) return 0;
    int start = scheme + 1;
    while (start < at && uri.charAt(start) == '/') start++;
    return start;
  }

  /** The hosts of a URI, without credentials or options: what a log line shows of it. */
  public static String hosts(String uri) {
    int at = uri.lastIndexOf('@');
    String withoutCredentials = at < 0 ? uri : uri.substring(0, userInfoStart(uri, at)) + uri.substring(at + 1);
    try {
      return String.join(",", new ConnectionString(withoutCredentials).getHosts());
    } catch (IllegalArgumentException e) {
      return redact(uri);
    }
  }

  /** Every element of a publisher, in order. */
  public static <T> CompletableFuture<java.util.List<T>> all(Publisher<T> publisher) {
    CompletableFuture<java.util.List<T>> result = new CompletableFuture<>();
    java.util.List<T> elements = new java.util.ArrayList<>();
    publisher.subscribe(
        new Subscriber<T>() {
          @Override
          public void onSubscribe(Subscription s) {
            s.request(Long.MAX_VALUE);
          }

          @Override
          public void onNext(T t) {
            elements.add(t);
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onComplete() {
            result.complete(elements);
          }
        });
    return result;
  }

  /** The first element of a publisher, or null when it completes empty. */
  public static <T> CompletableFuture<T> first(Publisher<T> publisher) {
    CompletableFuture<T> result = new CompletableFuture<>();
    publisher.subscribe(
        new Subscriber<T>() {
          private Subscription subscription;

          @Override
          public void onSubscribe(Subscription s) {
            subscription = s;
            s.request(1);
          }

          @Override
          public void onNext(T t) {
            if (result.complete(t)) subscription.cancel();
          }

          @Override
          public void onError(Throwable t) {
            result.completeExceptionally(t);
          }

          @Override
          public void onComplete() {
            result.complete(null);
          }
        });
    return result;
  }
}
