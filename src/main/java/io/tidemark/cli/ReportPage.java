package io.tidemark.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One HTML page, self-contained (inline SVG, no scripts), with each stream's lag, throughput and
 * headroom over time, from a node's samples ({@code /tidemark/samples}) and status.
 */
final class ReportPage {
  private ReportPage() {}

  private static final DateTimeFormatter CLOCK = DateTimeFormatter.ofPattern("HH:mm:ss").withZone(ZoneOffset.UTC);
  private static final int WIDTH = 760;
  private static final int HEIGHT = 220;
  private static final int LEFT = 64;
  private static final int RIGHT = 16;
  private static final int TOP = 28;
  private static final int BOTTOM = 36;

  /** A point of a series: time in millis, value (NaN: not known). */
  record Point(long atMillis, double value) {}

  static String render(JsonNode samples, JsonNode status, Instant generatedAt) {
    StringBuilder html = new StringBuilder();
    html.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Tidemark report</title>\n<style>")
        .append("body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:820px}")
        .append("h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em}table{border-collapse:collapse}")
        .append("td,th{padding:2px 12px 2px 0;text-align:left}th{color:#555;font-weight:normal}")
        .append(".note{color:#666;font-size:.9em}</style></head><body>\n");
    html.append("<h1>Tidemark report</h1>\n<p class=\"note\">Node ").append(escape(samples.path("node").asText("?")))
        .append(", generated ").append(generatedAt.truncatedTo(java.time.temporal.ChronoUnit.SECONDS)).append(", a sample every ")
        .append(seconds(samples.path("intervalMillis").asLong())).append(" s (times in UTC).</p>\n");
    JsonNode streams = samples.path("streams");
    if (!streams.isObject() || streams.isEmpty()) {
      html.append("<p>No samples yet: no stream has run on this node since it started, or for less than one sample interval.</p>\n");
    }
    streams.fields().forEachRemaining(entry -> html.append(stream(entry.getKey(), entry.getValue(), statusOf(status, entry.getKey()))));
    html.append("</body></html>\n");
    return html.toString();
  }

  private static JsonNode statusOf(JsonNode status, String stream) {
    if (status != null) {
      for (JsonNode candidate : status.path("streams")) {
        if (stream.equals(candidate.path("stream").asText())) return candidate;
      }
    }
    return null;
  }

  private static String stream(String name, JsonNode samples, JsonNode status) {
    List<Point> lag = new ArrayList<>();
    List<Point> throughput = new ArrayList<>();
    List<Point> headroom = new ArrayList<>();
    JsonNode previous = null;
    for (JsonNode sample : samples) {
      long at = sample.path("atMillis").asLong();
      lag.add(new Point(at, number(sample.get("lagSeconds"))));
      headroom.add(new Point(at, number(sample.get("headroomSeconds"))));
      if (previous != null) {
        double seconds = (at - previous.path("atMillis").asLong()) / 1000.0;
        double events = sample.path("events").asDouble() - previous.path("events").asDouble();
        throughput.add(new Point(at, seconds > 0 ? Math.max(0, events) / seconds : Double.NaN));
      }
      previous = sample;
    }
    StringBuilder html = new StringBuilder();
    html.append("<h2>").append(escape(name)).append("</h2>\n<table>");
    if (status != null) {
      row(html, "state", status.path("state").asText());
      row(html, "events processed", status.path("eventsProcessed").asText());
      row(html, "lag", seconds(status.get("lagSeconds")));
      row(html, "checkpoint", status.path("checkpoint").asText("-") + " (" + seconds(status.get("checkpointAgeSeconds")) + " ago)");
      row(html, "headroom", seconds(status.get("headroomSeconds")) + " of an oplog window of " + seconds(status.get("oplogWindowSeconds")));
      row(html, "restarts, gaps, replayed", status.path("restarts").asText() + ", " + status.path("gaps").asText() + ", "
          + status.path("replayedEvents").asText());
    }
    html.append("</table>\n");
    html.append(chart("Lag (seconds behind the newest processed event)", "s", lag, "#d62728"));
    html.append(chart("Throughput (events per second)", "events/s", throughput, "#1f77b4"));
    if (headroom.stream().anyMatch(point -> !Double.isNaN(point.value()))) {
      html.append(chart("Headroom (seconds until the checkpoint falls off the oplog)", "s", headroom, "#2ca02c"));
    }
    return html.toString();
  }

  private static void row(StringBuilder html, String label, String value) {
    html.append("<tr><th>").append(escape(label)).append("</th><td>").append(escape(value)).append("</td></tr>");
  }

  /** A line chart of one series over time, as inline SVG. */
  static String chart(String title, String unit, List<Point> points, String color) {
    List<Point> known = points.stream().filter(point -> !Double.isNaN(point.value())).toList();
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"%s\">",
        WIDTH, HEIGHT, escape(title)));
    svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"16\" font-size=\"13\" font-family=\"sans-serif\">%s</text>", LEFT, escape(title)));
    int plotWidth = WIDTH - LEFT - RIGHT;
    int plotHeight = HEIGHT - TOP - BOTTOM;
    svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"#fafafa\" stroke=\"#ccc\"/>",
        LEFT, TOP, plotWidth, plotHeight));
    if (known.size() < 2) {
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"#888\" font-family=\"sans-serif\">not enough samples yet</text>",
          LEFT + 12, TOP + plotHeight / 2));
      return svg.append("</svg>\n").toString();
    }
    long from = known.get(0).atMillis();
    long to = Math.max(from + 1, known.get(known.size() - 1).atMillis());
    Axis axis = Axis.of(
        Math.min(0, known.stream().mapToDouble(Point::value).min().orElse(0)), known.stream().mapToDouble(Point::value).max().orElse(1));
    double min = axis.low();
    double max = axis.high();
    for (int i = 0; i * axis.step() <= max - min + axis.step() / 2; i++) {
      double value = min + i * axis.step();
      double y = TOP + plotHeight - (value - min) / (max - min) * plotHeight;
      svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#e5e5e5\"/>", LEFT, LEFT + plotWidth, y, y));
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\" font-family=\"sans-serif\">%s</text>",
          LEFT - 6, y + 4, escape(axis.label(value))));
    }
    for (int i = 0; i <= 2; i++) {
      long at = from + (to - from) * i / 2;
      double x = LEFT + (double) plotWidth * i / 2;
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"%s\" font-family=\"sans-serif\">%s</text>",
          x, HEIGHT - 12, i == 0 ? "start" : i == 2 ? "end" : "middle", CLOCK.format(Instant.ofEpochMilli(at))));
    }
    StringBuilder path = new StringBuilder();
    for (Point point : known) {
      double x = LEFT + (double) (point.atMillis() - from) / (to - from) * plotWidth;
      double y = TOP + plotHeight - (point.value() - min) / (max - min) * plotHeight;
      path.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
    }
    svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"")
        .append(path.toString().trim()).append("\"/>");
    return svg.append("</svg>\n").toString();
  }

  private static double number(JsonNode value) {
    return value == null || value.isNull() ? Double.NaN : value.asDouble();
  }

  private static String seconds(JsonNode value) {
    if (value == null || value.isNull()) return "-";
    return io.tidemark.source.OplogMonitor.human(Math.round(value.asDouble()));
  }

  /** A sample interval in seconds: 5, not 5.0; 2.5 stays. */
  private static String seconds(long millis) {
    return millis % 1000 == 0 ? String.valueOf(millis / 1000) : String.format(Locale.ROOT, "%.1f", millis / 1000.0);
  }

  /**
   * A value axis from {@code low} to {@code high} in at most four round steps (1, 2, 2.5 or 5 times a
   * power of ten) that cover the values, labelled with as many decimals as the step needs: 0, 25, 50,
   * 75, 100 for values up to 99, not 0, 25, 50, 74, 99.
   */
  record Axis(double low, double high, double step, int decimals) {
    static Axis of(double min, double max) {
      if (max <= min) max = min + 1;
      double raw = (max - min) / 4;
      double power = Math.pow(10, Math.floor(Math.log10(raw)));
      double fraction = raw / power;
      double nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
      double step = nice * power;
      double low = Math.floor(min / step + 1e-9) * step;
      double high = Math.ceil(max / step - 1e-9) * step;
      int decimals = 0;
      while (decimals < 6 && Math.abs(step * Math.pow(10, decimals) - Math.rint(step * Math.pow(10, decimals))) > 1e-6) decimals++;
      return new Axis(low, high, step, decimals);
    }

    String label(double value) {
      return String.format(Locale.ROOT, decimals == 0 ? "%,.0f" : "%." + decimals + "f", value);
    }
  }

  static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
  }
}
