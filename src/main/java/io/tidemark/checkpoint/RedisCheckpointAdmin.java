package io.tidemark.checkpoint;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;

/**
 * {@link CheckpointAdmin} over the keys of {@link RedisCheckpointStore}. A stream is held while its
 * hash has a {@code holder} (set when a consumer takes an epoch, cleared when it closes). A rewind
 * or reset is one Lua script that also takes a new epoch, so the consumer that held the stream (if
 * forced) is fenced out by the store's save script.
 */
public final class RedisCheckpointAdmin implements CheckpointAdmin {
  private final RedisCheckpointStore store;

  /** An admin over the store's Redis; it uses (and does not close) the store's connection. */
  public RedisCheckpointAdmin(RedisCheckpointStore store) {
    this.store = store;
  }

  @Override
  public void ready() {
    String pong = await(store.call("reach Redis", c -> c.async().ping()), "reach Redis at " + store.location());
    if (!"PONG".equals(pong)) throw new TidemarkException("Redis at " + store.location() + " answered PING with " + pong);
  }

  @Override
  public List<String> streams() {
    return await(store.call("list the streams", c -> c.async().smembers(store.streamsKey())), "list the streams in " + store.location())
        .stream().sorted().toList();
  }

  @Override
  public StreamState state(String stream) {
    StreamNames.validate(stream);
    Map<String, String> hash = await(store.call("read the checkpoint", c -> c.async().hgetall(store.hashKey(stream))),
        "read the checkpoint of '" + stream + "' in " + store.location());
    if (hash.isEmpty()) {
      List<String> known = streams();
      throw new TidemarkException("unknown stream '" + stream + "': Redis at " + store.location() + " has "
          + (known.isEmpty() ? "no streams" : "these: " + String.join(", ", known)));
    }
    Optional<Checkpoint> checkpoint;
    String corruption = null;
    try {
      checkpoint = store.decodeCurrent(stream, hash.get(RedisCheckpointStore.CHECKPOINT));
    } catch (CorruptCheckpointException e) {
      checkpoint = Optional.empty();
      corruption = e.getMessage();
    }
    List<Checkpoint> history = await(store.readHistory(stream), "read the history of '" + stream + "' in " + store.location());
    String heldSince = hash.get("heldSince");
    return new StreamState(stream, checkpoint, corruption, number(hash.get("epoch")), number(hash.get("holder")),
        heldSince == null ? null : Instant.ofEpochMilli(number(heldSince)), number(hash.get("saves")), history);
  }

  @Override
  public StreamState rewind(String stream, BsonDocument token, BsonTimestamp time, String note, boolean force) {
    return move(stream, Checkpoint.rewind(stream, token, time, note), force);
  }

  @Override
  public StreamState reset(String stream, String note, boolean force) {
    return move(stream, Checkpoint.reset(stream, note), force);
  }

  private StreamState move(String stream, Checkpoint checkpoint, boolean force) {
    StreamNames.validate(stream);
    List<Object> reply = await(store.script("write the checkpoint", RedisCheckpointStore.MOVE,
            new String[] {store.hashKey(stream), store.notableKey(stream)}, force ? "1" : "0", RedisCheckpointStore.encode(checkpoint),
            RedisCheckpointStore.position(checkpoint), Integer.toString(store.settings().historySize),
            checkpoint.kind() == CheckpointKind.RESET ? "1" : "0"),
        "write the checkpoint of '" + stream + "' in " + store.location());
    String outcome = (String) reply.get(0);
    if (outcome.equals("unknown")) return state(stream); // says which streams there are
    if (outcome.equals("held")) {
      StreamState current = state(stream);
      throw new TidemarkException("refused: the consumer with epoch " + reply.get(1) + " holds the stream"
          + (current.heldSince() != null ? " (since " + current.heldSince() + ")" : "")
          + ": stop it first; a consumer that crashed never lets go: then pass --force, which fences it out");
    }
    return state(stream);
  }

  private static long number(String value) {
    return value == null ? 0 : Long.parseLong(value);
  }

  private <T> T await(CompletionStage<T> stage, String what) {
    long timeout = store.settings().timeout.toMillis();
    try {
      return stage.toCompletableFuture().get(timeout + 1_000, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new TidemarkException("interrupted while trying to " + what);
    } catch (ExecutionException | TimeoutException e) {
      Throwable cause = Errors.unwrap(e);
      if (cause instanceof TidemarkException tidemark) throw tidemark;
      throw new TidemarkException("could not " + what + ": " + Errors.oneLine(cause.getMessage() == null ? cause.toString() : cause.getMessage()));
    }
  }
}
