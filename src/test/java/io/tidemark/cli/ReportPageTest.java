package io.tidemark.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The report page as a reader sees it (issue 18, defect 12: a header time with nanoseconds, axis ticks at 99/74/50/25). */
class ReportPageTest {
  private static final Pattern Y_LABEL = Pattern.compile("<text x=\"58\" y=\"[\\d.]+\" font-size=\"11\" text-anchor=\"end\"[^>]*>([^<]*)</text>");

  private static List<String> yLabels(double... values) {
    List<ReportPage.Point> points = new ArrayList<>();
    for (int i = 0; i < values.length; i++) points.add(new ReportPage.Point(1_000L * i, values[i]));
    Matcher label = Y_LABEL.matcher(ReportPage.chart("Lag", "s", points, "#d62728"));
    List<String> labels = new ArrayList<>();
    while (label.find()) labels.add(label.group(1));
    return labels;
  }

  @Test
  void theAxisIsLabelledInRoundSteps() {
    assertThat(yLabels(3, 99, 40)).containsExactly("0", "25", "50", "75", "100");
    assertThat(yLabels(0.1, 0.7)).containsExactly("0.0", "0.2", "0.4", "0.6", "0.8");
    assertThat(yLabels(0, 1)).containsExactly("0.00", "0.25", "0.50", "0.75", "1.00");
    assertThat(yLabels(0, 51)).containsExactly("0", "20", "40", "60");
    assertThat(yLabels(120, 3_400)).containsExactly("0", "1,000", "2,000", "3,000", "4,000");
    assertThat(yLabels(0, 0)).containsExactly("0.00", "0.25", "0.50", "0.75", "1.00");
  }

  @Test
  void theHeaderTimeIsToTheSecond() throws Exception {
    ObjectMapper json = new ObjectMapper();
    String page = ReportPage.render(json.readTree("{\"node\": \"akka://tidemark@127.0.0.1:2552\", \"intervalMillis\": 5000, \"streams\": {}}"),
        json.readTree("{\"streams\": []}"), Instant.parse("2026-11-30T04:45:38.770269053Z"));
    assertThat(page).contains("generated 2026-11-30T04:45:38Z, a sample every 5 s").doesNotContain(".770");
  }
}
