package io.tidemark.connection;

import com.mongodb.MongoCommandException;
import com.mongodb.MongoServerException;
import com.mongodb.event.CommandFailedEvent;
import com.mongodb.event.CommandListener;
import java.lang.ref.WeakReference;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;

/**
 * A driver command listener on the clients Tidemark opens: it remembers which command each error
 * came from, and the wire version of the connection it ran on, which is what the change-streams
 * spec classifies by (an error on {@code aggregate} is never resumable; labels count from wire
 * version 9 on). It also counts failures by code, including those the driver resumes from by
 * itself, which a stream never sees: each for the stream whose command failed (a client is shared
 * by the streams of a deployment, and a stream tags its commands with {@link CommandTags}), never
 * for another; an untagged command's failure is counted for no stream.
 */
@akka.annotation.InternalApi
public final class CommandFailures implements CommandListener {

  /** Where an error came from. */
  public record Origin(String command, int wireVersion) {}

  private static final Map<Throwable, Origin> ORIGINS = Collections.synchronizedMap(new WeakHashMap<>());

  /**
   * The driver hands a cursor's caller another exception than the listener saw (a getMore failure
   * becomes a MongoQueryException), over the same server response: recent responses, by identity.
   */
  private static final int RECENT = 256;
  private static final Object[] RECENT_RESPONSES = new Object[RECENT];
  private static final Origin[] RECENT_ORIGINS = new Origin[RECENT];
  private static int next;

  /** The key under which failures of untagged commands are counted. */
  private static final String UNTAGGED = "";

  /** By stream, then by code. */
  private final Map<String, Map<String, AtomicLong>> counts = new ConcurrentHashMap<>();

  @Override
  public void commandFailed(CommandFailedEvent event) {
    Throwable error = event.getThrowable();
    int wireVersion = event.getConnectionDescription() == null ? -1 : event.getConnectionDescription().getMaxWireVersion();
    Origin origin = new Origin(event.getCommandName(), wireVersion);
    ORIGINS.put(error, origin);
    if (error instanceof MongoCommandException command) remember(command.getResponse(), origin);
    String stream = CommandTags.streamOf(event.getRequestContext());
    counts.computeIfAbsent(stream == null ? UNTAGGED : stream, key -> new ConcurrentHashMap<>())
        .computeIfAbsent(label(error), key -> new AtomicLong()).incrementAndGet();
  }

  /** The command and wire version an error came from, when a Tidemark client saw it fail. */
  public static Origin origin(Throwable error) {
    Origin origin = ORIGINS.get(error);
    if (origin != null || !(error instanceof MongoCommandException command)) return origin;
    return recalled(command.getResponse());
  }

  private static void remember(BsonDocument response, Origin origin) {
    synchronized (RECENT_RESPONSES) {
      RECENT_RESPONSES[next] = new WeakReference<>(response);
      RECENT_ORIGINS[next] = origin;
      next = (next + 1) % RECENT;
    }
  }

  private static Origin recalled(BsonDocument response) {
    synchronized (RECENT_RESPONSES) {
      for (int i = 0; i < RECENT; i++) {
        if (RECENT_RESPONSES[i] instanceof WeakReference<?> ref && ref.get() == response && response != null) return RECENT_ORIGINS[i];
      }
    }
    return null;
  }

  /** The failed commands {@code stream} ran so far, by server error code, or by exception type for other errors. */
  public Map<String, Long> counts(String stream) {
    Map<String, Long> snapshot = new TreeMap<>();
    counts.getOrDefault(stream, Map.of()).forEach((code, count) -> snapshot.put(code, count.get()));
    return snapshot;
  }

  static String label(Throwable error) {
    if (error instanceof MongoServerException server && server.getCode() > 0) return String.valueOf(server.getCode());
    return error.getClass().getSimpleName();
  }
}
