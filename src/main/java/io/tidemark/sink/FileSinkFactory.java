package io.tidemark.sink;

import java.nio.file.Path;
import java.util.Set;

/**
 * {@code sink { type = file, directory = "...", prefix = <stream>, max-size = 100MiB, fsync = on }}:
 * JSON lines in rotated files ({@link RotatingFile}), at-least-once: a batch is fsync'd before its
 * events are done, so the checkpoint never passes a line not yet on the disk.
 */
final class FileSinkFactory implements SinkFactory {
  @Override
  public String type() {
    return "file";
  }

  @Override
  public ConfiguredSink create(SinkContext context) {
    SinkBlock block = SinkBlock.of(context, Set.of("directory", "prefix", "max-size", "fsync", "batch-size", "batch-within"));
    String directory = block.string("directory");
    String prefix = block.has("prefix") ? block.string("prefix") : context.stream();
    if (!prefix.matches("[A-Za-z0-9._-]+")) {
      throw new io.tidemark.TidemarkException("invalid config key " + block.key("prefix") + " = \"" + prefix
          + "\": expected a file name prefix (letters, digits, '.', '_' and '-')");
    }
    RotatingFile file = new RotatingFile(Path.of(directory), prefix, block.bytes("max-size"), block.flag("fsync"));
    return new JsonLinesSink(context, block, file);
  }
}
