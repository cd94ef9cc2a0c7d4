package io.tidemark.cli;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import org.slf4j.LoggerFactory;

/** Commands that print a result keep the log to warnings, so that their output is only the result. */
final class CliLogging {
  private CliLogging() {}

  static void quiet() {
    for (String name : new String[] {"io.tidemark", "akka", "slick", "com.zaxxer.hikari"}) {
      if (LoggerFactory.getLogger(name) instanceof Logger logger) logger.setLevel(Level.WARN);
    }
  }
}
