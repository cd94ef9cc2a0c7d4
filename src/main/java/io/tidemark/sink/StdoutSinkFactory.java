package io.tidemark.sink;

import java.io.PrintStream;
import java.util.List;
import java.util.Set;

/**
 * {@code sink { type = stdout }}: JSON lines on the standard output, for piping and debugging;
 * at-least-once (a batch is flushed before its events are done). The service's log goes to the
 * standard error, so the output holds the events only.
 */
final class StdoutSinkFactory implements SinkFactory {
  @Override
  public String type() {
    return "stdout";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("batch-size", "batch-within"));
    PrintStream out = System.out;
    return new JsonLinesSink(context, block, new JsonLines() {
      @Override
      public void write(List<String> lines) {
        synchronized (out) {
          for (String line : lines) out.println(line);
          out.flush();
        }
      }

      @Override
      public void close() {
        out.flush();
      }
    });
  }
}
