package io.tidemark.cli;

import picocli.CommandLine;
import picocli.CommandLine.ParameterException;

/** Checks of option values shared by commands: a bad one is a usage error that names the option. */
final class Flags {
  private Flags() {}

  static void positiveEvents(CommandLine command, Long events) {
    if (events != null && events <= 0) {
      throw new ParameterException(command,
          "invalid --events " + events + ": expected a positive number of writes; leave --events out to run until stopped");
    }
  }

  static void positiveRate(CommandLine command, Integer rate) {
    if (rate != null && rate <= 0) {
      throw new ParameterException(command, "invalid --rate " + rate + ": expected a positive number of writes per second");
    }
  }

  static void port(CommandLine command, String option, Integer port) {
    if (port != null && (port < 0 || port > 65535)) {
      throw new ParameterException(command, "invalid " + option + " " + port + ": expected a port, 0 to 65535");
    }
  }
}
