package io.tidemark.sink;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * JSON lines appended to {@code <directory>/<prefix>-<n>.jsonl}: the newest file is written until it
 * holds {@code maxSize} bytes, then {@code n + 1} is begun. A restart appends to the newest file. With
 * {@code fsync} a batch returns only once it is on the disk ({@link FileChannel#force}).
 */
final class RotatingFile implements JsonLines {
  private final Path directory;
  private final String prefix;
  private final long maxSize;
  private final boolean fsync;
  private final Pattern name;
  private FileChannel channel;
  private int index;

  RotatingFile(Path directory, String prefix, long maxSize, boolean fsync) {
    this.directory = directory;
    this.prefix = prefix;
    this.maxSize = maxSize;
    this.fsync = fsync;
    this.name = Pattern.compile(Pattern.quote(prefix) + "-(\\d{6,})\\.jsonl");
  }

  /** The file lines go to now. */
  synchronized Path current() {
    return file(index);
  }

  @Override
  public synchronized void write(List<String> lines) throws IOException {
    if (channel == null) open();
    StringBuilder text = new StringBuilder();
    for (String line : lines) text.append(line).append('\n');
    ByteBuffer bytes = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
    while (bytes.hasRemaining()) channel.write(bytes);
    if (fsync) channel.force(false);
    if (channel.size() >= maxSize) {
      channel.close();
      channel = null;
      index++;
    }
  }

  private void open() throws IOException {
    Files.createDirectories(directory);
    if (index == 0) index = Math.max(1, newestIndex());
    channel = FileChannel.open(file(index), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    channel.position(channel.size());
    endTornLine();
    if (channel.size() >= maxSize) {
      channel.close();
      index++;
      channel = FileChannel.open(file(index), StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
      channel.position(channel.size());
    }
  }

  /**
   * A crash can leave the last line half written (it was never fsync'd, so its event comes again):
   * end it, so that the next line starts on a line of its own and the torn one is one bad line.
   */
  private void endTornLine() throws IOException {
    long size = channel.size();
    if (size == 0) return;
    ByteBuffer last = ByteBuffer.allocate(1);
    channel.read(last, size - 1);
    if (last.get(0) != '\n') {
      channel.write(ByteBuffer.wrap(new byte[] {'\n'}));
      if (fsync) channel.force(false);
    }
  }

  private int newestIndex() throws IOException {
    try (Stream<Path> files = Files.list(directory)) {
      return files.map(path -> name.matcher(path.getFileName().toString()))
          .filter(Matcher::matches)
          .mapToInt(match -> Integer.parseInt(match.group(1)))
          .max().orElse(0);
    }
  }

  private Path file(int n) {
    return directory.resolve(String.format("%s-%06d.jsonl", prefix, n));
  }

  @Override
  public synchronized void close() throws IOException {
    if (channel != null) {
      channel.close();
      channel = null;
    }
  }
}
