package io.tidemark.sink;

import akka.Done;
import akka.actor.typed.DispatcherSelector;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.source.ChangeEnvelope;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;

/**
 * The stdout and file sinks: each event as one line in the stream's {@link EventFormat}, written in
 * batches on the blocking-IO dispatcher. A batch's events are done once the batch is written (flushed;
 * for a file, fsync'd), so the checkpoint never passes a line that could still be lost:
 * at-least-once, and a crash writes at most the window's N + K events again.
 */
final class JsonLinesSink implements ConfiguredSink {
  private final String stream;
  private final JsonLines out;
  private final EventFormat format;
  private final DebeziumEnvelope debezium;
  private final int batchSize;
  private final Duration batchWithin;
  private final Executor executor;

  JsonLinesSink(SinkContext context, SinkBlock block, JsonLines out) {
    this.stream = context.stream();
    this.out = out;
    this.format = block.format();
    this.debezium = DebeziumEnvelope.create(stream, null);
    this.batchSize = block.positiveInt("batch-size");
    this.batchWithin = block.positiveDuration("batch-within");
    this.executor = context.system().dispatchers().lookup(DispatcherSelector.blocking());
  }

  @Override
  public String guarantee() {
    return "at-least-once";
  }

  @Override
  public PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
    return stages
        .map(event -> {
          String line = format.format(event, debezium);
          return line == null ? "" : line;
        })
        .grouped(batchSize, batchWithin)
        .mapAsync(lines -> CompletableFuture.supplyAsync(() -> write(lines), executor));
  }

  private Done write(List<String> lines) {
    List<String> written = lines.stream().filter(line -> !line.isEmpty()).toList();
    if (written.isEmpty()) return Done.getInstance();
    try {
      out.write(written);
      return Done.getInstance();
    } catch (IOException e) {
      throw new CompletionException(new SinkUnavailableException("stream '" + stream + "': could not write " + written.size()
          + " lines: " + e.getMessage(), e));
    }
  }

  @Override
  public void close() {
    try {
      out.close();
    } catch (IOException e) {
      throw new SinkUnavailableException("stream '" + stream + "': could not close its output: " + e.getMessage(), e);
    }
  }
}
