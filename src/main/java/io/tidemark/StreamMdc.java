package io.tidemark;

import org.slf4j.Logger;
import org.slf4j.MDC;

/**
 * Logs a line about one stream with the stream's name in the MDC under {@value #KEY}: for
 * {@code %X{stream}} in a Logback pattern and {@code "mdc": {"stream": ...}} in a JSON line, so
 * that a log store filters a stream's lines by a field, not by matching text. The pipeline works
 * on shared threads (stream stages, future callbacks, dispatchers), so the name is set around
 * each line, and what the thread held under the key before is put back after it.
 */
public final class StreamMdc {
  private StreamMdc() {}

  public static final String KEY = "stream";

  public static void debug(Logger log, String stream, String format, Object... arguments) {
    if (log.isDebugEnabled()) with(stream, () -> log.debug(format, arguments));
  }

  public static void info(Logger log, String stream, String format, Object... arguments) {
    if (log.isInfoEnabled()) with(stream, () -> log.info(format, arguments));
  }

  public static void warn(Logger log, String stream, String format, Object... arguments) {
    if (log.isWarnEnabled()) with(stream, () -> log.warn(format, arguments));
  }

  public static void error(Logger log, String stream, String format, Object... arguments) {
    if (log.isErrorEnabled()) with(stream, () -> log.error(format, arguments));
  }

  /** Runs {@code logging} with the stream's name in the MDC. */
  public static void with(String stream, Runnable logging) {
    String before = MDC.get(KEY);
    MDC.put(KEY, stream);
    try {
      logging.run();
    } finally {
      if (before == null) {
        MDC.remove(KEY);
      } else {
        MDC.put(KEY, before);
      }
    }
  }
}
