package io.tidemark.sink;

import java.io.IOException;
import java.util.List;

/** Where a JSON-lines sink writes: a batch of lines at a time, each followed by a newline. */
interface JsonLines extends AutoCloseable {
  /** Writes the lines and returns only once they are as safe as the output makes them (flushed, or fsync'd). */
  void write(List<String> lines) throws IOException;

  @Override
  void close() throws IOException;
}
