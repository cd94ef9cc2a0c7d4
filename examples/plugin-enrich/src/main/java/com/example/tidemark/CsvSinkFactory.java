package com.example.tidemark;

import akka.Done;
import akka.actor.typed.DispatcherSelector;
import io.tidemark.TidemarkException;
import io.tidemark.pipeline.PipelineBuilder;
import io.tidemark.sink.ConfiguredSink;
import io.tidemark.sink.SinkBlock;
import io.tidemark.sink.SinkContext;
import io.tidemark.sink.SinkFactory;
import io.tidemark.source.ChangeEnvelope;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.bson.Document;

/**
 * A sink type, found by {@link java.util.ServiceLoader} through
 * {@code META-INF/services/io.tidemark.sink.SinkFactory}:
 * {@code sink { type = example-csv, file = "orders.csv", columns = [_id, total, tier] }} appends one
 * CSV row per event, {@code <operationType>,<column>,...} from the full document (a delete: its
 * {@code _id}), and forces it to the disk before the event is done: at-least-once (after a crash the
 * events after the checkpoint are written again).
 */
public final class CsvSinkFactory implements SinkFactory {
  @Override
  public String type() {
    return "example-csv";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("file", "columns"));
    Path file = Path.of(block.string("file"));
    List<String> columns;
    try {
      columns = block.config().getStringList("columns");
    } catch (com.typesafe.config.ConfigException e) {
      throw new TidemarkException("invalid config key " + block.key("columns") + ": expected a list of field names, such as [_id, total]");
    }
    if (columns.isEmpty()) throw new TidemarkException("invalid config key " + block.key("columns") + " = []: expected at least one field");
    Executor blocking = context.system().dispatchers().lookup(DispatcherSelector.blocking());
    return new CsvSink(file, columns, blocking);
  }

  private static final class CsvSink implements ConfiguredSink {
    private final Path file;
    private final List<String> columns;
    private final Executor blocking;

    CsvSink(Path file, List<String> columns, Executor blocking) {
      this.file = file;
      this.columns = List.copyOf(columns);
      this.blocking = blocking;
    }

    @Override
    public String guarantee() {
      return "at-least-once";
    }

    @Override
    public PipelineBuilder<?> attach(PipelineBuilder<ChangeEnvelope> stages) {
      return stages.mapAsync(event -> CompletableFuture.supplyAsync(() -> write(event), blocking));
    }

    private Done write(ChangeEnvelope event) {
      String row = row(event);
      if (row == null) return Done.getInstance(); // not about one document (drop, rename, ...)
      try (FileChannel channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND)) {
        channel.write(ByteBuffer.wrap((row + "\n").getBytes(StandardCharsets.UTF_8)));
        channel.force(false);
        return Done.getInstance();
      } catch (IOException e) {
        throw new UncheckedIOException("could not append to " + file, e);
      }
    }

    private String row(ChangeEnvelope event) {
      List<String> cells = new ArrayList<>();
      cells.add(event.operationType());
      Document document = event.fullDocument();
      if ("delete".equals(event.operationType()) && event.documentKey() != null) {
        cells.add(String.valueOf(Document.parse(event.documentKey().toJson()).get("_id")));
      } else if (document != null) {
        for (String column : columns) cells.add(document.get(column) == null ? "" : String.valueOf(document.get(column)));
      } else {
        return null;
      }
      return String.join(",", cells.stream().map(CsvSink::quoted).toList());
    }

    /** A cell as CSV writes it: quoted, with quotes doubled, when it holds a comma, a quote or a line break. */
    private static String quoted(String cell) {
      if (cell.indexOf(',') < 0 && cell.indexOf('"') < 0 && cell.indexOf('\n') < 0) return cell;
      return "\"" + cell.replace("\"", "\"\"") + "\"";
    }
  }
}
