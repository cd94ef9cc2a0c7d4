package io.tidemark.source;

import com.mongodb.MongoCursorNotFoundException;
import com.mongodb.MongoException;
import com.mongodb.MongoSocketException;
import com.mongodb.MongoTimeoutException;
import io.tidemark.Errors;
import java.util.Set;

/**
 * Which change-stream errors are resumable, after the driver spec
 * ({@code source/change-streams/change-streams.md}, "Resumable Error"): network errors and
 * timeouts; CursorNotFound 43; errors labelled {@code ResumableChangeStreamError}; and on servers
 * older than 4.4, which do not label, the listed codes. An error labelled
 * {@code NonResumableChangeStreamError} never is.
 */
public final class ResumableErrors {
  private ResumableErrors() {}

  public static final String RESUMABLE_LABEL = "ResumableChangeStreamError";
  public static final String NON_RESUMABLE_LABEL = "NonResumableChangeStreamError";
  public static final int CURSOR_NOT_FOUND = 43;
  public static final int CURSOR_KILLED = 237;

  /** The codes the spec lists as resumable for servers that do not send the label. */
  static final Set<Integer> LEGACY_RESUMABLE_CODES =
      Set.of(6, 7, 89, 91, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436, 63, 150, 13388, 234, 133);

  public static boolean isResumable(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof MongoSocketException || e instanceof MongoTimeoutException) {
      return true;
    }
    if (e instanceof MongoCursorNotFoundException) {
      return true;
    }
    if (e instanceof MongoException mongo) {
      if (mongo.hasErrorLabel(NON_RESUMABLE_LABEL)) return false;
      if (mongo.hasErrorLabel(RESUMABLE_LABEL)) return true;
      int code = mongo.getCode();
      return code == CURSOR_NOT_FOUND || code == CURSOR_KILLED || LEGACY_RESUMABLE_CODES.contains(code);
    }
    return false;
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
