package io.tidemark.source;

import io.tidemark.connection.CommandFailures;

import com.mongodb.MongoCursorNotFoundException;
import com.mongodb.MongoException;
import com.mongodb.MongoServerException;
import io.tidemark.Errors;
import java.util.Set;

/**
 * Which change-stream errors are resumable, after the driver spec
 * ({@code source/change-streams/change-streams.md}, "Resumable Error"):
 *
 * <ul>
 *   <li>any error that is not a server error (a network error, a timeout);
 *   <li>CursorNotFound (43), and CursorKilled (237), which Tidemark treats alike;
 *   <li>on a connection of wire version 9 or more (MongoDB 4.4+), a server error labelled
 *       {@code ResumableChangeStreamError};
 *   <li>on an older one, a server error with one of the listed codes.
 * </ul>
 *
 * A server error on the {@code aggregate} that opens the stream is not resumable (the spec's rule
 * for drivers, which must not loop on a stream that cannot open) — except the errors of a replica
 * set changing primary or shutting down ({@link #TRANSIENT_CODES}), which an election raises on any
 * command and which pass on their own: those are retried with backoff, so that a routine election
 * during a reopen does not stop the stream. A server error labelled
 * {@code NonResumableChangeStreamError} is never resumable. Where the command and wire version are
 * not known (the error did not pass a {@link CommandFailures} listener), the label decides when
 * there is one, else the code list.
 *
 * <p>Errors a retry cannot fix stop the stream with what they say: failed authentication
 * ({@code MongoSecurityException}), a client misconfigured ({@code MongoConfigurationException}).
 * CursorKilled (237), which the spec does not list, is resumed on purpose: a killed cursor loses no
 * position, and reopening from the last delivered token neither repeats nor skips.
 */
@akka.annotation.InternalApi
public final class ResumableErrors {
  private ResumableErrors() {}

  public static final String RESUMABLE_LABEL = "ResumableChangeStreamError";
  public static final String NON_RESUMABLE_LABEL = "NonResumableChangeStreamError";
  public static final int CURSOR_NOT_FOUND = 43;
  public static final int CURSOR_KILLED = 237;
  public static final int CAPPED_POSITION_LOST = 136;
  public static final int INVALID_RESUME_TOKEN = 260;
  public static final int CHANGE_STREAM_FATAL = 280;
  public static final int CHANGE_STREAM_HISTORY_LOST = 286;
  public static final int BSON_OBJECT_TOO_LARGE = 10334;
  public static final int NOT_A_REPLICA_SET = 40573;
  static final int LABELS_FROM_WIRE_VERSION = 9;

  /** The codes the spec lists as resumable for servers before 4.4, which do not label. */
  static final Set<Integer> LEGACY_RESUMABLE_CODES =
      Set.of(6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 13388, 234, 133);

  /**
   * Errors of a replica set changing primary, shutting down or unreachable, on any command: they
   * pass on their own (HostUnreachable, HostNotFound, NetworkTimeout, ShutdownInProgress,
   * PrimarySteppedDown, ExceededTimeLimit, SocketException, NotWritablePrimary, InterruptedAtShutdown,
   * InterruptedDueToReplStateChange, NotPrimaryNoSecondaryOk, NotPrimaryOrSecondary,
   * FailedToSatisfyReadPreference).
   */
  static final Set<Integer> TRANSIENT_CODES = Set.of(6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 133);

  /** What a failure of the change stream means for it. */
  public enum Kind {
    /** Reopen from the last delivered token. */
    RESUMABLE,
    /** The position fell off the oplog (286, 136), or its token was not found (280). */
    HISTORY_LOST,
    /** The token is not valid (260). */
    INVALID_TOKEN,
    /** An event is over the size limit (10334). */
    TOO_LARGE,
    /** The server is not a replica set (40573). */
    NOT_A_REPLICA_SET,
    /** Anything else: stop. */
    FATAL
  }

  public static boolean isResumable(Throwable error) {
    return classify(error) == Kind.RESUMABLE;
  }

  public static Kind classify(Throwable error) {
    Throwable e = Errors.unwrap(error);
    if (e instanceof com.mongodb.MongoSecurityException || e instanceof com.mongodb.MongoConfigurationException) return Kind.FATAL;
    if (!(e instanceof MongoServerException server)) {
      return e instanceof MongoException ? Kind.RESUMABLE : Kind.FATAL;
    }
    int code = server.getCode();
    switch (code) {
      case CHANGE_STREAM_HISTORY_LOST, CAPPED_POSITION_LOST:
        return Kind.HISTORY_LOST;
      case CHANGE_STREAM_FATAL:
        return String.valueOf(e.getMessage()).contains("resume token was not found") ? Kind.HISTORY_LOST : Kind.FATAL;
      case INVALID_RESUME_TOKEN:
        return Kind.INVALID_TOKEN;
      case BSON_OBJECT_TOO_LARGE:
        return Kind.TOO_LARGE;
      case NOT_A_REPLICA_SET:
        return Kind.NOT_A_REPLICA_SET;
      default:
        break;
    }
    CommandFailures.Origin origin = CommandFailures.origin(e);
    if (origin != null && "aggregate".equals(origin.command())) {
      return TRANSIENT_CODES.contains(code) && !server.hasErrorLabel(NON_RESUMABLE_LABEL) ? Kind.RESUMABLE : Kind.FATAL;
    }
    // CursorKilled (237): the cursor was killed under the stream (killCursors, killOp); reopen it.
    if (e instanceof MongoCursorNotFoundException || code == CURSOR_NOT_FOUND || code == CURSOR_KILLED) return Kind.RESUMABLE;
    if (server.hasErrorLabel(NON_RESUMABLE_LABEL)) return Kind.FATAL;
    boolean labelled = origin != null ? origin.wireVersion() >= LABELS_FROM_WIRE_VERSION : !server.getErrorLabels().isEmpty();
    if (labelled) return server.hasErrorLabel(RESUMABLE_LABEL) ? Kind.RESUMABLE : Kind.FATAL;
    return LEGACY_RESUMABLE_CODES.contains(code) ? Kind.RESUMABLE : Kind.FATAL;
  }

  private static final java.util.regex.Pattern TOKEN_IN_MESSAGE =
      java.util.regex.Pattern.compile("_id: \\{ _data: \"([0-9A-Fa-f]+)\" \\}");

  /** The resume token a BSONObjectTooLarge (10334) message names as the oversize event's _id, or null. */
  public static org.bson.BsonDocument oversizeToken(Throwable error) {
    java.util.regex.Matcher matcher = TOKEN_IN_MESSAGE.matcher(String.valueOf(Errors.unwrap(error).getMessage()));
    return matcher.find() ? new org.bson.BsonDocument("_data", new org.bson.BsonString(matcher.group(1))) : null;
  }

  /** A short label for logs and metrics: the server code and name, or the exception class. */
  public static String describe(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof MongoException mongo && mongo.getCode() > 0) {
      return "code " + mongo.getCode() + " (" + e.getClass().getSimpleName() + "): " + Errors.oneLine(e.getMessage());
    }
    return Errors.summary(e);
  }

  static Throwable unwrap(Throwable error) {
    return Errors.unwrap(error);
  }
}
