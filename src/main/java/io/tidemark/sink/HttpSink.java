package io.tidemark.sink;

import akka.Done;
import akka.actor.typed.ActorSystem;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import io.tidemark.connection.MongoSettings;
import io.tidemark.connection.SharedMongoClients;
import io.tidemark.pipeline.DeadLetter;
import io.tidemark.pipeline.DeadLetterStore;
import io.tidemark.pipeline.MongoDeadLetterStore;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.json.JsonMode;
import org.bson.json.JsonWriterSettings;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's {@code http} sink, a webhook: the stream's events POSTed in batches as one JSON array
 * per request, each element {@code {"key": <the event's idempotency key>, "event": <the event in the
 * stream's format>}}, in stream order. A batch's events are done once the receiver answered 2xx, so the
 * checkpoint never passes an event not delivered: at-least-once, and a crash sends at most the
 * window's N + K events again, with the same keys.
 *
 * <p>The key of an event is {@code <stream>:<SHA-256 of its resume token>} (of its namespace, key and
 * time for a snapshot's copy): the same on every retry, replay or restart, so a receiver dedupes on
 * it. A request carries {@code Idempotency-Key}: its one event's key, or for a batch of several
 * {@code <stream>:batch:<SHA-256 of their keys>}, the same on each retry of the batch.
 *
 * <p>A failed attempt (no answer, a timeout, 408, 429 or 5xx) is tried again after a backoff that
 * doubles from {@code retry.min-backoff} up to {@code retry.max-backoff}, up to
 * {@code retry.max-attempts} attempts; another answer (a 4xx, a redirect) is not tried again. Then,
 * with {@code dead-letter.enabled}, the batch's events are recorded as {@link DeadLetter}s in MongoDB
 * and the stream goes on; without it the stream stops with the failure (a person must look), its
 * checkpoint before the batch. Header values are never logged.
 */
final class HttpSink implements ConfiguredSink {
  private static final Logger log = LoggerFactory.getLogger(HttpSink.class);
  private static final JsonWriterSettings CANONICAL = JsonWriterSettings.builder().outputMode(JsonMode.EXTENDED).build();
  private static final int BODY_EXCERPT = 200;

  /** The checked settings of one stream's http sink. */
  record Settings(
      URI url, Map<String, String> headers, int maxEvents, Duration maxWait, Duration minBackoff, Duration maxBackoff,
      int maxAttempts, Duration requestTimeout, boolean deadLetter, String deadLetterDatabase, String deadLetterCollection,
      EventFormat format) {}

  /** An event, its key, and its JSON (null when the format writes nothing for it). */
  private record Item(ChangeEnvelope event, String key, String json) {}

  /** Why an attempt failed, and whether another attempt may succeed. */
  private record Failure(String reason, boolean retryable) {}

  private final String stream;
  private final Settings settings;
  private final String where;
  private final DebeziumEnvelope debezium;
  private final HttpClient http;
  private final ActorSystem<?> system;
  private final AtomicLong posted = new AtomicLong();
  private final AtomicLong retries = new AtomicLong();
  private final AtomicLong deadLettered = new AtomicLong();
  private SharedMongoClients.Lease deadLetterClients;
  private DeadLetterStore deadLetters;

  HttpSink(SinkContext context, Settings settings) {
    this.stream = context.stream();
    this.settings = settings;
    this.system = context.system();
    this.where = redact(settings.url());
    this.debezium = DebeziumEnvelope.create(stream, null);
    this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(settings.requestTimeout()).build();
  }

  @Override
  public String guarantee() {
    return "at-least-once";
  }

  @Override
  public PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
    return stages
        .map(event -> new Item(event, keyOf(stream, event), settings.format().format(event, debezium)))
        .grouped(settings.maxEvents(), settings.maxWait())
        .mapAsync(this::deliver);
  }

  /** Events the receiver accepted. */
  long posted() {
    return posted.get();
  }

  /** Attempts tried again. */
  long retries() {
    return retries.get();
  }

  /** Events recorded as dead letters. */
  long deadLettered() {
    return deadLettered.get();
  }

  private CompletionStage<Done> deliver(List<Item> batch) {
    List<Item> items = batch.stream().filter(item -> item.json() != null).toList();
    if (items.isEmpty()) return CompletableFuture.completedFuture(Done.getInstance());
    StringBuilder body = new StringBuilder(items.size() * 256).append('[');
    for (Item item : items) {
      if (body.length() > 1) body.append(',');
      body.append("{\"key\": \"").append(item.key()).append("\", \"event\": ").append(item.json()).append('}');
    }
    String requestBody = body.append(']').toString();
    String batchKey = items.size() == 1 ? items.get(0).key()
        : stream + ":batch:" + sha256(String.join("\n", items.stream().map(Item::key).toList()));
    return attempt(items, requestBody, batchKey, 1);
  }

  private CompletionStage<Done> attempt(List<Item> items, String body, String batchKey, int attempt) {
    HttpRequest.Builder request = HttpRequest.newBuilder(settings.url())
        .timeout(settings.requestTimeout())
        .header("Content-Type", "application/json")
        .header("Idempotency-Key", batchKey)
        .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    settings.headers().forEach(request::header);
    CompletableFuture<HttpResponse<String>> sent;
    try {
      sent = http.sendAsync(request.build(), HttpResponse.BodyHandlers.ofString());
    } catch (RuntimeException e) {
      sent = CompletableFuture.failedFuture(e);
    }
    return sent.handle((response, error) -> {
      Failure failure = failureOf(response, error);
      if (failure == null) {
        posted.addAndGet(items.size());
        return CompletableFuture.completedFuture(Done.getInstance());
      }
      if (failure.retryable() && attempt < settings.maxAttempts()) {
        Duration backoff = backoff(attempt);
        retries.incrementAndGet();
        log.warn("stream '{}': the http sink's POST of {} to {} {} (attempt {} of {}); trying again in {} ms", stream,
            describe(items), where, failure.reason(), attempt, settings.maxAttempts(), backoff.toMillis());
        Executor later = CompletableFuture.delayedExecutor(backoff.toMillis(), TimeUnit.MILLISECONDS);
        return CompletableFuture.runAsync(() -> {}, later).thenCompose(waited -> attempt(items, body, batchKey, attempt + 1));
      }
      return giveUp(items, failure, attempt);
    }).thenCompose(next -> next);
  }

  /** Null when the receiver accepted the batch (2xx). */
  private static Failure failureOf(HttpResponse<String> response, Throwable error) {
    if (error != null) return new Failure("failed: " + Errors.summary(Errors.unwrap(error)), true);
    int status = response.statusCode();
    if (status >= 200 && status < 300) return null;
    String answer = response.body() == null ? "" : Errors.oneLine(response.body());
    if (answer.length() > BODY_EXCERPT) answer = answer.substring(0, BODY_EXCERPT) + "...";
    return new Failure("was answered " + status + (answer.isEmpty() ? "" : " (" + answer + ")"),
        status == 408 || status == 429 || status >= 500);
  }

  /** The wait before attempt {@code attempt + 1}: min-backoff doubled per attempt, at most max-backoff. */
  Duration backoff(int attempt) {
    Duration backoff = settings.minBackoff();
    for (int i = 1; i < attempt && backoff.compareTo(settings.maxBackoff()) < 0; i++) backoff = backoff.multipliedBy(2);
    return backoff.compareTo(settings.maxBackoff()) > 0 ? settings.maxBackoff() : backoff;
  }

  private CompletionStage<Done> giveUp(List<Item> items, Failure failure, int attempts) {
    String message = "stream '" + stream + "': the http sink's POST of " + describe(items) + " to " + where + " " + failure.reason()
        + " after " + attempts + (attempts == 1 ? " attempt" : " attempts");
    if (!settings.deadLetter()) {
      return CompletableFuture.failedFuture(new TidemarkException(message + "; the stream stops (with sink.dead-letter.enabled = on"
          + " such events are recorded as dead letters and the stream goes on)"));
    }
    log.warn("{}; recording its {} events as dead letters in {}.{} and going on", message, items.size(),
        settings.deadLetterDatabase(), settings.deadLetterCollection());
    DeadLetterStore store = deadLetters();
    CompletionStage<Done> recorded = CompletableFuture.completedFuture(Done.getInstance());
    for (Item item : items) {
      ChangeEnvelope event = item.event();
      DeadLetter letter = new DeadLetter(stream, event.resumeToken(), event.clusterTime(), event.operationType(), event.documentKey(),
          event.eventDocument(), message, attempts, Instant.now());
      recorded = recorded.thenCompose(done -> store.record(letter));
    }
    return recorded.thenApply(done -> {
      deadLettered.addAndGet(items.size());
      return done;
    });
  }

  /** The dead-letter store, on the source's deployment ({@code tidemark.mongodb.uri}), made at its first use. */
  private synchronized DeadLetterStore deadLetters() {
    if (deadLetters == null) {
      MongoSettings mongo = MongoSettings.create(system.settings().config());
      deadLetterClients = SharedMongoClients.get(system).lease(mongo.uri, mongo.connectTimeout);
      deadLetters = MongoDeadLetterStore.create(deadLetterClients.client(), settings.deadLetterDatabase(), settings.deadLetterCollection());
    }
    return deadLetters;
  }

  private static String describe(List<Item> items) {
    long first = items.get(0).event().seqNr();
    long last = items.get(items.size() - 1).event().seqNr();
    return items.size() == 1 ? "event #" + first : items.size() + " events (#" + first + "..#" + last + ")";
  }

  /** An event's idempotency key: the stream and the SHA-256 of its resume token (of namespace, key and time for a snapshot's copy). */
  static String keyOf(String stream, ChangeEnvelope event) {
    BsonDocument token = event.resumeToken();
    String position = token != null && token.isString("_data") ? token.getString("_data").getValue()
        : token != null ? token.toJson(CANONICAL)
        : "snapshot " + event.event().getNamespaceDocument() + " " + (event.documentKey() == null ? "" : event.documentKey().toJson(CANONICAL))
            + " " + event.clusterTime();
    return stream + ":" + sha256(position);
  }

  private static String sha256(String text) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JVM has no SHA-256", e);
    }
  }

  /** A URL for messages: scheme, host, port and path; no user, password or query (they may hold a secret). */
  static String redact(URI url) {
    String scheme = url.getScheme() == null ? "" : url.getScheme() + "://";
    String host = url.getHost() == null ? "" : url.getHost();
    String port = url.getPort() < 0 ? "" : ":" + url.getPort();
    String path = url.getRawPath() == null ? "" : url.getRawPath();
    return scheme + host + port + path + (url.getRawQuery() == null ? "" : "?...");
  }

  @Override
  public synchronized void close() {
    if (posted.get() + deadLettered.get() > 0) {
      log.info("stream '{}': http sink posted {} events, retried {} attempts, dead-lettered {}", stream, posted.get(), retries.get(),
          deadLettered.get());
    }
    if (deadLetterClients != null) deadLetterClients.close();
  }
}
