package io.tidemark.checkpoint;

import akka.Done;
import akka.actor.typed.ActorSystem;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisConnectionException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.StringCodec;
import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Checkpoints in Redis, the fast shared level: one hash per stream ({@code <key-prefix>{<stream>}},
 * the braces keep a stream's keys in one slot of a Redis Cluster) holding the epoch, the holder and
 * the checkpoint, and two capped lists beside it for the history (routine and notable entries).
 *
 * <p>Every write that fences is one Lua script, so Redis runs it atomically: taking an epoch
 * increments it and marks the holder; a save compares the writer's epoch with the stream's (an
 * older one is refused) and the new position with the stored one (a later-or-equal cluster time,
 * or a gap, passes) before it writes the checkpoint and its history entry. An admin's rewind or
 * reset takes a new epoch in the same way and clears the stored position, so the next consumer may
 * save from the rewound place and the one that held the stream is fenced out.
 *
 * <p>Redis is as durable as it is configured to be (AOF with {@code appendfsync always} for a
 * checkpoint that survives a Redis crash). Calls never block: Lettuce answers with
 * {@link CompletionStage}s, each bounded by {@code tidemark.checkpoint.redis.timeout}.
 */
public final class RedisCheckpointStore implements CheckpointStore, AutoCloseable {
  /** Field of the stream's hash: the checkpoint, as extended JSON. */
  static final String CHECKPOINT = "checkpoint";

  /** Takes epoch + 1 and marks its holder; answers {epoch, checkpoint or false}. KEYS: hash, streams set. ARGV: now millis, stream. */
  static final String ACQUIRE = String.join("\n",
      "local epoch = redis.call('HINCRBY', KEYS[1], 'epoch', 1)",
      "redis.call('HSET', KEYS[1], 'holder', epoch, 'heldSince', ARGV[1])",
      "return {epoch, redis.call('HGET', KEYS[1], 'checkpoint')}");

  /**
   * Saves when the writer's epoch is not older than the stream's and the position does not move
   * back (positions are 20-digit cluster times, compared as strings). KEYS: hash, routine list,
   * notable list. ARGV: epoch, position ('' for none), '1' for a gap, '1' for routine, history size, entry.
   */
  static final String SAVE = String.join("\n",
      "local stored = tonumber(redis.call('HGET', KEYS[1], 'epoch') or '0')",
      "local epoch = tonumber(ARGV[1])",
      "if epoch < stored then return {'older', tostring(stored)} end",
      "local at = redis.call('HGET', KEYS[1], 'at')",
      "if ARGV[2] ~= '' and ARGV[3] ~= '1' and at and at > ARGV[2] then return {'backwards', at} end",
      "if ARGV[2] == '' then redis.call('HDEL', KEYS[1], 'at') else redis.call('HSET', KEYS[1], 'at', ARGV[2]) end",
      "if epoch > stored then redis.call('HSET', KEYS[1], 'epoch', ARGV[1]) end",
      "redis.call('HSET', KEYS[1], 'checkpoint', ARGV[6])",
      "redis.call('HINCRBY', KEYS[1], 'saves', 1)",
      "local history = KEYS[3]",
      "if ARGV[4] == '1' then history = KEYS[2] end",
      "redis.call('RPUSH', history, ARGV[6])",
      "redis.call('LTRIM', history, -tonumber(ARGV[5]), -1)",
      "return {'ok', ''}");

  /** Lets go of the stream if this consumer still holds it. KEYS: hash. ARGV: epoch. */
  static final String RELEASE = String.join("\n",
      "if redis.call('HGET', KEYS[1], 'holder') == ARGV[1] then redis.call('HDEL', KEYS[1], 'holder', 'heldSince') end",
      "return 1");

  /**
   * An admin's rewind or reset: refused while held unless forced; takes a new epoch, lets go of the
   * holder, and writes the entry ('' for a reset: no checkpoint). KEYS: hash, notable list.
   * ARGV: '1' to force, entry, position ('' for none), history size, '1' for a reset.
   */
  static final String MOVE = String.join("\n",
      "if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', ''} end",
      "local holder = redis.call('HGET', KEYS[1], 'holder')",
      "if holder and ARGV[1] ~= '1' then return {'held', holder} end",
      "redis.call('HINCRBY', KEYS[1], 'epoch', 1)",
      "redis.call('HDEL', KEYS[1], 'holder', 'heldSince')",
      "if ARGV[3] == '' then redis.call('HDEL', KEYS[1], 'at') else redis.call('HSET', KEYS[1], 'at', ARGV[3]) end",
      "if ARGV[5] == '1' then redis.call('HDEL', KEYS[1], 'checkpoint') else redis.call('HSET', KEYS[1], 'checkpoint', ARGV[2]) end",
      "redis.call('HINCRBY', KEYS[1], 'saves', 1)",
      "redis.call('RPUSH', KEYS[2], ARGV[2])",
      "redis.call('LTRIM', KEYS[2], -tonumber(ARGV[4]), -1)",
      "return {'ok', ''}");

  private final RedisCheckpointSettings settings;
  private final RedisClient client;
  private final RedisURI redisUri;
  private final AtomicReference<CompletableFuture<StatefulRedisConnection<String, String>>> connection = new AtomicReference<>();
  private final Map<String, String> shas = new ConcurrentHashMap<>();
  private final OpenStreams openStreams = new OpenStreams();
  private final AtomicLong writes = new AtomicLong();

  private RedisCheckpointStore(RedisCheckpointSettings settings) {
    this.settings = settings;
    try {
      this.redisUri = RedisURI.create(settings.uri);
    } catch (RuntimeException e) {
      throw new TidemarkException("invalid Redis URI '" + settings.redactedUri() + "' (tidemark.checkpoint.redis.uri): "
          + Errors.oneLine(e.getMessage()) + "; expected " + RedisCheckpointSettings.EXPECTED_URI);
    }
    redisUri.setTimeout(settings.timeout);
    this.client = RedisClient.create();
    client.setOptions(ClientOptions.builder()
        .socketOptions(SocketOptions.builder().connectTimeout(settings.connectTimeout).build())
        .timeoutOptions(TimeoutOptions.enabled(settings.timeout))
        .build());
  }

  public static RedisCheckpointStore create(ActorSystem<?> system) {
    return create(RedisCheckpointSettings.create(system));
  }

  /** A store on the Redis the settings name; it connects on first use. Close it to let go of the connection. */
  public static RedisCheckpointStore create(RedisCheckpointSettings settings) {
    return new RedisCheckpointStore(settings);
  }

  public RedisCheckpointSettings settings() {
    return settings;
  }

  /** Saves that reached Redis so far, over all streams (for benchmarks and tests). */
  public long writes() {
    return writes.get();
  }

  /** Closes the connection; no call may follow. */
  @Override
  public void close() {
    CompletableFuture<StatefulRedisConnection<String, String>> current = connection.getAndSet(null);
    if (current != null && current.isDone() && !current.isCompletedExceptionally()) current.join().close();
    client.shutdown();
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    return openStreams.open(stream, Record::new);
  }

  private final class Record implements StreamCheckpoints {
    private final String stream;
    private volatile long heldEpoch;

    Record(String stream) {
      this.stream = stream;
    }

    @Override
    public String stream() {
      return stream;
    }

    @Override
    public CompletionStage<Acquired> acquire() {
      return script("take an epoch", ACQUIRE, new String[] {hashKey(stream)}, Long.toString(System.currentTimeMillis()))
          .thenCompose(reply -> call("list the stream", c -> c.async().sadd(streamsKey(), stream)).thenApply(added -> reply))
          .thenApply(reply -> {
            long epoch = (Long) reply.get(0);
            heldEpoch = epoch;
            try {
              return new Acquired(epoch, decodeCurrent(stream, (String) reply.get(1)));
            } catch (CorruptCheckpointException corrupt) {
              return new Acquired(epoch, Optional.empty(), corrupt);
            }
          });
    }

    @Override
    public CompletionStage<Optional<Checkpoint>> load() {
      return call("read the checkpoint", c -> c.async().hget(hashKey(stream), CHECKPOINT))
          .thenApply(stored -> decodeCurrent(stream, stored));
    }

    @Override
    public CompletionStage<List<Checkpoint>> history() {
      return readHistory(stream);
    }

    @Override
    public CompletionStage<Done> save(Checkpoint checkpoint, long epoch) {
      if (!checkpoint.stream().equals(stream)) {
        throw new IllegalArgumentException(
            "checkpoint of stream '" + checkpoint.stream() + "' saved through the record of '" + stream + "'");
      }
      Checkpoint saved = checkpoint.withEpoch(epoch);
      return script("save the checkpoint", SAVE, new String[] {hashKey(stream), historyKey(stream), notableKey(stream)},
              Long.toString(epoch), position(saved), saved.kind() == CheckpointKind.GAP ? "1" : "0", routine(saved) ? "1" : "0",
              Integer.toString(settings.historySize), encode(saved))
          .thenApply(reply -> {
            String outcome = (String) reply.get(0);
            if (outcome.equals("older")) {
              throw new FencedException("stream '" + stream + "': checkpoint refused: epoch " + epoch + " is older than the stream's epoch "
                  + reply.get(1) + ": another consumer has taken the stream");
            }
            if (outcome.equals("backwards")) {
              throw new FencedException("stream '" + stream + "': checkpoint refused: it would move the checkpoint backwards (stored at "
                  + describe((String) reply.get(1)) + ", new at " + saved.clusterTime() + ")");
            }
            writes.incrementAndGet();
            return Done.getInstance();
          });
    }

    @Override
    public CompletionStage<Done> close() {
      openStreams.closed(stream);
      long epoch = heldEpoch;
      if (epoch == 0) return CompletableFuture.completedFuture(Done.getInstance());
      return script("release the stream", RELEASE, new String[] {hashKey(stream)}, Long.toString(epoch))
          .handle((reply, error) -> Done.getInstance());
    }
  }

  // ---- keys, encoding and the calls, shared with RedisCheckpointAdmin ----

  String hashKey(String stream) {
    return settings.keyPrefix + "{" + stream + "}";
  }

  String historyKey(String stream) {
    return hashKey(stream) + ":history";
  }

  String notableKey(String stream) {
    return hashKey(stream) + ":notable";
  }

  String streamsKey() {
    return settings.keyPrefix + "streams";
  }

  /** Where the stores' data is, for messages: the redacted URI and the key prefix. */
  String location() {
    return settings.redactedUri() + " (keys " + settings.keyPrefix + "*)";
  }

  static boolean routine(Checkpoint checkpoint) {
    return CheckpointJson.routine(checkpoint);
  }

  /** A cluster time as 20 digits, which Lua compares as strings in the order of the unsigned numbers. */
  static String position(Checkpoint checkpoint) {
    if (checkpoint.clusterTime() == null) return "";
    return String.format("%20s", Long.toUnsignedString(checkpoint.clusterTime().getValue())).replace(' ', '0');
  }

  private static String describe(String position) {
    try {
      return new org.bson.BsonTimestamp(Long.parseUnsignedLong(position)).toString();
    } catch (NumberFormatException e) {
      return position;
    }
  }

  static String encode(Checkpoint checkpoint) {
    return CheckpointJson.encode(checkpoint);
  }

  /** The stream's current checkpoint; empty when it has none (new, or reset). */
  Optional<Checkpoint> decodeCurrent(String stream, String stored) {
    return CheckpointJson.decodeCurrent(stream, stored, location());
  }

  Checkpoint decode(String stream, String stored) {
    return CheckpointJson.decode(stream, stored, location());
  }

  /** The history, oldest first: routine and notable entries together; entries that do not parse are left out. */
  CompletionStage<List<Checkpoint>> readHistory(String stream) {
    CompletionStage<List<String>> routine = call("read the history", c -> c.async().lrange(historyKey(stream), 0, -1));
    CompletionStage<List<String>> notable = call("read the history", c -> c.async().lrange(notableKey(stream), 0, -1));
    return routine.thenCombine(notable, (a, b) -> {
      List<Checkpoint> entries = new ArrayList<>();
      for (List<String> list : List.of(a, b)) {
        for (String entry : list) {
          try {
            entries.add(decode(stream, entry));
          } catch (RuntimeException unreadable) {
            // left out, as StreamCheckpoints.history() says
          }
        }
      }
      entries.sort(Comparator.comparing(Checkpoint::savedAt));
      return entries;
    });
  }

  /** Runs a script by its SHA, loading it when Redis does not know it yet; answers its reply as a list. */
  CompletionStage<List<Object>> script(String what, String script, String[] keys, String... args) {
    String sha = shas.computeIfAbsent(script, RedisCheckpointStore::sha1);
    return call(what, c -> c.async().<List<Object>>evalsha(sha, ScriptOutputType.MULTI, keys, args)
        .exceptionallyCompose(error -> Errors.unwrap(error) instanceof RedisNoScriptException
            ? c.async().<List<Object>>eval(script, ScriptOutputType.MULTI, keys, args)
            : CompletableFuture.failedFuture(error)));
  }

  /** A call on the connection (opened on first use, and again after a failed attempt), bounded in time; errors say where and what. */
  <T> CompletionStage<T> call(String what, java.util.function.Function<StatefulRedisConnection<String, String>, CompletionStage<T>> command) {
    return connection()
        .thenCompose(command::apply)
        .toCompletableFuture()
        .orTimeout(settings.timeout.toMillis(), TimeUnit.MILLISECONDS)
        .exceptionally(error -> {
          Throwable cause = Errors.unwrap(error);
          if (cause instanceof TidemarkException) {
            throw error instanceof CompletionException completion ? completion : new CompletionException(cause);
          }
          if (cause instanceof CheckpointStoreUnavailableException unavailable) {
            throw new CheckpointStoreUnavailableException("could not " + what + ": " + unavailable.getMessage(), unavailable.getCause());
          }
          if (cause instanceof RedisCommandExecutionException refused) {
            throw new CheckpointStoreUnavailableException(
                "could not " + what + " in Redis at " + location() + ": " + Errors.oneLine(refused.getMessage()), cause);
          }
          String why = cause instanceof TimeoutException || cause instanceof io.lettuce.core.RedisCommandTimeoutException
              ? "no answer within " + settings.timeout.toMillis() + " ms (tidemark.checkpoint.redis.timeout)"
              : Errors.summary(cause);
          throw new CheckpointStoreUnavailableException("could not " + what + " in Redis at " + location() + ": " + why
              + " (expected a Redis server reachable at tidemark.checkpoint.redis.uri)", cause);
        });
  }

  private CompletableFuture<StatefulRedisConnection<String, String>> connection() {
    CompletableFuture<StatefulRedisConnection<String, String>> current = connection.get();
    if (current != null && !current.isCompletedExceptionally()) return current;
    CompletableFuture<StatefulRedisConnection<String, String>> next = new CompletableFuture<>();
    if (!connection.compareAndSet(current, next)) return connection();
    client.connectAsync(StringCodec.UTF8, redisUri).toCompletableFuture().whenComplete((connected, error) -> {
      if (error == null) {
        next.complete(connected);
        return;
      }
      Throwable cause = Errors.unwrap(error);
      if (cause instanceof RedisConnectionException && cause.getCause() != null) cause = cause.getCause();
      next.completeExceptionally(new CheckpointStoreUnavailableException("could not connect to Redis at " + settings.redactedUri() + ": "
          + Errors.summary(cause) + " (expected a Redis server reachable at tidemark.checkpoint.redis.uri, "
          + RedisCheckpointSettings.EXPECTED_URI + ")", cause));
    });
    return next;
  }

  private static String sha1(String script) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(script.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
