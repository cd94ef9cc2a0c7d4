package io.tidemark.cli;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.UnmatchedArgumentException;

/**
 * {@code java -jar tidemark.jar <command>}. Exit codes: 0 success; 1 a check found a problem
 * (verify: missing events; status: a failed stream); 2 a usage error; 3 bad configuration or input,
 * or a refusal (the message names it); 4 a runtime failure.
 */
@Command(
    name = "tidemark",
    description = "Tidemark: MongoDB change streams on Akka that never lose their place.",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    subcommands = {
      RunCommand.class, TailCommand.class, DemoCommand.class, VerifyCommand.class, MongoCommand.class, NodeCommand.class, WorkloadCommand.class,
      CheckpointsCommand.class, StatusCommand.class, ReportCommand.class, SnapshotCommand.class, CommandLine.HelpCommand.class
    })
public final class Main implements java.util.concurrent.Callable<Integer> {
  public static final int PROBLEM_FOUND = 1;
  public static final int USAGE = 2;
  public static final int BAD_INPUT = 3;
  public static final int FAILURE = 4;

  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    if (System.getProperty("logback.configurationFile") == null) {
      System.setProperty("logback.configurationFile", "tidemark/conf/logback.xml");
    }
    System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
  }

  /** Runs one command line; returns its exit code. */
  public static int execute(String[] args, PrintWriter out, PrintWriter err) {
    CommandLine cli = new CommandLine(new Main());
    cli.setOut(out);
    cli.setErr(err);
    cli.setParameterExceptionHandler(Main::usageError);
    cli.setExecutionExceptionHandler(
        (error, command, parsed) -> {
          Throwable cause = Errors.unwrap(error);
          command.getErr().println("error: " + Errors.summary(cause));
          return cause instanceof TidemarkException ? BAD_INPUT : FAILURE;
        });
    return cli.execute(args);
  }

  private static int usageError(ParameterException error, String[] args) {
    CommandLine command = error.getCommandLine();
    PrintWriter err = command.getErr();
    if (error instanceof UnmatchedArgumentException unmatched
        && command.getCommandSpec().parent() == null
        && !unmatched.getUnmatched().isEmpty()
        && !unmatched.getUnmatched().get(0).startsWith("-")) {
      err.println(
          "error: unknown command '" + unmatched.getUnmatched().get(0) + "'; expected one of: "
              + String.join(", ", command.getSubcommands().keySet()) + " (see --help)");
    } else {
      err.println("error: " + error.getMessage() + " (see " + command.getCommandName() + " --help)");
    }
    return USAGE;
  }

  /** {@code tidemark} alone: the usage, on stderr, and a usage error (a script that forgot its command fails). */
  @Override
  public Integer call() {
    spec.commandLine().usage(spec.commandLine().getErr());
    return USAGE;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String version = Main.class.getPackage().getImplementationVersion();
      return new String[] {"tidemark " + (version == null ? "(development build)" : version)};
    }
  }
}
