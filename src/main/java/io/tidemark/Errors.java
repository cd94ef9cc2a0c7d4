package io.tidemark;

import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/** Errors as people read them: one line, bounded in length, without the future wrappers. */
public final class Errors {
  private Errors() {}

  private static final int MAX_LENGTH = 300;
  /** Tidemark's own messages are written to be read whole (all the missing variables, say), so they may be longer. */
  private static final int MAX_OWN_LENGTH = 1_000;

  public static Throwable unwrap(Throwable error) {
    Throwable e = error;
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  /** The message's first line, cut to a readable length. */
  public static String oneLine(String message) {
    return oneLine(message, MAX_LENGTH);
  }

  private static String oneLine(String message, int maxLength) {
    if (message == null) return "";
    int newline = message.indexOf('\n');
    String line = (newline < 0 ? message : message.substring(0, newline)).trim();
    return line.length() > maxLength ? line.substring(0, maxLength - 3) + "..." : line;
  }

  /** {@code Type: message} on one line, for errors whose type says something. */
  public static String summary(Throwable error) {
    Throwable e = unwrap(error);
    if (e instanceof TidemarkException) return oneLine(e.getMessage(), MAX_OWN_LENGTH);
    return e.getClass().getSimpleName() + ": " + oneLine(e.getMessage());
  }
}
