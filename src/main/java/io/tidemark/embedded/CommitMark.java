package io.tidemark.embedded;

import io.tidemark.Errors;
import io.tidemark.TidemarkException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A witness, beside the store, of the newest commit it acknowledged writes after: the store's
 * version, rewritten in place after each commit. MVStore finds its newest commit after a crash
 * by following a chain of chunks from its file header; when the chain is broken it silently
 * reopens at an older commit, and acknowledged writes would be gone. With the mark, opening
 * knows which version it must reach (see {@link EmbeddedMongo}).
 */
final class CommitMark implements AutoCloseable {
  private final Path file;
  private final FileChannel channel;
  private final ByteBuffer buffer = ByteBuffer.allocate(Long.BYTES);

  private CommitMark(Path file, FileChannel channel) {
    this.file = file;
    this.channel = channel;
  }

  static CommitMark open(Path file) {
    try {
      return new CommitMark(file, FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE));
    } catch (IOException e) {
      throw new TidemarkException("cannot open " + file + ": " + Errors.oneLine(e.getMessage()), e);
    }
  }

  /** The version last marked; 0 when none was. */
  static long read(Path file) {
    try {
      if (!Files.exists(file) || Files.size(file) < Long.BYTES) return 0;
      return ByteBuffer.wrap(Files.readAllBytes(file)).getLong();
    } catch (IOException e) {
      throw new TidemarkException("cannot read " + file + ": " + Errors.oneLine(e.getMessage()), e);
    }
  }

  /** Marks {@code version} as committed. One write of eight bytes at the start of the file: a killed process leaves the old or the new. */
  synchronized void mark(long version) {
    buffer.clear();
    buffer.putLong(version).flip();
    try {
      while (buffer.hasRemaining()) channel.write(buffer, buffer.position());
    } catch (IOException e) {
      throw new TidemarkException("cannot write " + file + ": " + Errors.oneLine(e.getMessage()), e);
    }
  }

  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // nothing left to write
    }
  }
}
