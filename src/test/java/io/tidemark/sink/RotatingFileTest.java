package io.tidemark.sink;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotation by size, appending after a restart, and a line torn by a crash kept apart from the next one. */
class RotatingFileTest {
  @Test
  void rotatesBySizeAndARestartAppendsToTheNewestFile(@TempDir Path dir) throws Exception {
    try (RotatingFile file = new RotatingFile(dir, "s", 20, false)) {
      file.write(List.of("{\"a\": 1}", "{\"a\": 2}", "{\"a\": 3}")); // 27 bytes: the next batch goes to file 2
      file.write(List.of("{\"a\": 4}"));
    }
    try (RotatingFile again = new RotatingFile(dir, "s", 20, false)) {
      again.write(List.of("{\"a\": 5}"));
    }
    assertThat(Files.readAllLines(dir.resolve("s-000001.jsonl"))).containsExactly("{\"a\": 1}", "{\"a\": 2}", "{\"a\": 3}");
    assertThat(Files.readAllLines(dir.resolve("s-000002.jsonl"))).containsExactly("{\"a\": 4}", "{\"a\": 5}");
  }

  @Test
  void aLineTornByACrashIsEndedBeforeTheNextOne(@TempDir Path dir) throws Exception {
    Files.writeString(dir.resolve("s-000001.jsonl"), "{\"a\": 1}\n{\"a\": 2, \"tor");
    try (RotatingFile file = new RotatingFile(dir, "s", 1_000_000, true)) {
      file.write(List.of("{\"a\": 2}"));
    }
    assertThat(Files.readAllLines(dir.resolve("s-000001.jsonl"))).containsExactly("{\"a\": 1}", "{\"a\": 2, \"tor", "{\"a\": 2}");
  }
}
