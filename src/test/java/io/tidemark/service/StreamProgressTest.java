package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.window.WindowStats;
import org.junit.jupiter.api.Test;

/** The service's progress line of any stream: the demo's format, without the workload, and the standby choice. */
class StreamProgressTest {
  @Test
  void aStreamsLineHasTheDemosFormatWithoutAWorkload() {
    WindowStats idle = new WindowStats();
    assertThat(StreamProgress.line("orders-table", false, true, idle, 3.25, "", 0))
        .isEqualTo("orders-table: 0 events processed, 3.3 events/s, lag -, checkpoint age -, in flight 0");
    assertThat(StreamProgress.line("orders-table", false, false, idle, 0, "", 0)).as("runs elsewhere, standby lines off").isNull();
    assertThat(StreamProgress.line("orders-table", true, false, idle, 0, "", 0))
        .isEqualTo("orders-table: standby (the stream runs on another node)");
  }
}
