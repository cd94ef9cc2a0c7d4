package io.tidemark.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.Locale;

/**
 * Writes benchmark results into {@code docs/benchmarks.md}: each benchmark owns a section between
 * markers and replaces only that; the machine is stated at the top. Charts are SVG files under
 * {@code docs/img/}.
 */
final class Report {
  private Report() {}

  static final Path FILE = Path.of("docs", "benchmarks.md");
  static final Path IMAGES = Path.of("docs", "img");

  static String machine() {
    Runtime runtime = Runtime.getRuntime();
    long memory = ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize();
    return String.format(Locale.ROOT, "%d cores, %.0f GiB memory, %s %s (%s), %s %s; measured %s",
        runtime.availableProcessors(), memory / (1024.0 * 1024 * 1024),
        System.getProperty("java.vm.name"), System.getProperty("java.version"), System.getProperty("java.vendor"),
        System.getProperty("os.name"), System.getProperty("os.arch"), LocalDate.now());
  }

  /** The system load now: the one-minute load average against the cores, for a section to say how busy the machine was. */
  static double loadAverage() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  /** "Measured on <date> with the load average at <from> to <to> on <n> cores": how busy the shared machine was. */
  static String conditions(double loadBefore, double loadAfter) {
    return String.format(Locale.ROOT,
        "Measured %s; the one-minute load average was %.1f at the start and %.1f at the end, on %d cores shared with other"
            + " engineers' builds.",
        LocalDate.now(), loadBefore, loadAfter, Runtime.getRuntime().availableProcessors());
  }

  /** Replaces the section {@code name} (or appends it) and refreshes the machine line. */
  static void writeSection(String name, String markdown) throws IOException {
    String begin = "<!-- bench:" + name + ":begin -->";
    String end = "<!-- bench:" + name + ":end -->";
    String text = Files.exists(FILE) ? Files.readString(FILE) : "# Benchmarks\n\nMachine: (unknown)\n";
    String section = begin + "\n" + markdown.strip() + "\n" + end;
    int from = text.indexOf(begin);
    int to = text.indexOf(end);
    if (from >= 0 && to > from) {
      text = text.substring(0, from) + section + text.substring(to + end.length());
    } else {
      text = text.stripTrailing() + "\n\n" + section + "\n";
    }
    text = text.replaceFirst("(?m)^Machine: .*$", java.util.regex.Matcher.quoteReplacement("Machine: " + machine()));
    Files.createDirectories(FILE.getParent());
    Files.writeString(FILE, text);
  }

  /** One bar; {@code low} and {@code high} (NaN: none) draw a whisker for the spread of the runs behind it. */
  record Bar(String label, double value, String group, double low, double high) {
    Bar(String label, double value, String group) {
      this(label, value, group, Double.NaN, Double.NaN);
    }

    boolean hasSpread() {
      return !Double.isNaN(low) && !Double.isNaN(high);
    }
  }

  /** A horizontal bar chart: one bar per value, colored by group, with the value printed (and the spread, when given). */
  static void barChart(String file, String title, String unit, List<Bar> bars) throws IOException {
    int rowHeight = 26;
    int longestLabel = bars.stream().mapToInt(bar -> bar.label().length()).max().orElse(0);
    int left = Math.max(230, 16 + (int) Math.ceil(longestLabel * 7.4));
    boolean spreads = bars.stream().anyMatch(Bar::hasSpread);
    int plot = 470;
    int width = left + plot + (spreads ? 230 : 120);
    double max = bars.stream().mapToDouble(bar -> bar.hasSpread() ? Math.max(bar.value(), bar.high()) : bar.value()).max().orElse(1);
    List<String> groups = bars.stream().map(Bar::group).distinct().toList();
    String[] colors = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"};
    // One bar per group, named as its label: the legend would only repeat the labels.
    boolean legend = bars.stream().anyMatch(bar -> !bar.group().equals(bar.label()));
    int height = 60 + rowHeight * bars.size() + (legend ? 30 : 0);
    StringBuilder svg = new StringBuilder();
    svg.append(String.format(Locale.ROOT,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" font-family=\"sans-serif\" font-size=\"13\">%n", width, height));
    svg.append(String.format(Locale.ROOT, "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>%n", width, height));
    svg.append(String.format(Locale.ROOT, "<text x=\"10\" y=\"24\" font-size=\"16\" font-weight=\"bold\">%s</text>%n", escape(title)));
    for (int i = 0; i < bars.size(); i++) {
      Bar bar = bars.get(i);
      int y = 44 + i * rowHeight;
      double length = max == 0 ? 0 : plot * bar.value() / max;
      String color = colors[groups.indexOf(bar.group()) % colors.length];
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>%n", left - 8, y + 16, escape(bar.label())));
      svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>%n", left, y + 3, length, rowHeight - 8, color));
      double labelAt = left + length + 6;
      String spread = "";
      if (bar.hasSpread()) {
        double from = left + plot * bar.low() / max;
        double to = left + plot * bar.high() / max;
        int mid = y + 3 + (rowHeight - 8) / 2;
        svg.append(String.format(Locale.ROOT,
            "<path d=\"M%.1f %d H%.1f M%.1f %d V%d M%.1f %d V%d\" stroke=\"#333\" stroke-width=\"1.5\" fill=\"none\"/>%n",
            from, mid, to, from, mid - 5, mid + 5, to, mid - 5, mid + 5));
        labelAt = Math.max(labelAt, to + 6);
        spread = " (" + format(bar.low()) + "–" + format(bar.high()) + ")";
      }
      svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\">%s %s%s</text>%n", labelAt, y + 16, format(bar.value()), escape(unit), spread));
    }
    int legendY = 44 + bars.size() * rowHeight + 14;
    for (int i = 0; legend && i < groups.size(); i++) {
      int x = groups.size() <= 2 ? left + i * 200 : 20 + i * (width - 20) / groups.size();
      svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>%n", x, legendY - 10, colors[i % colors.length]));
      svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\">%s</text>%n", x + 18, legendY, escape(groups.get(i))));
    }
    svg.append("</svg>\n");
    Files.createDirectories(IMAGES);
    Files.writeString(IMAGES.resolve(file), svg.toString());
  }

  static String format(double value) {
    if (value >= 100 || value == Math.rint(value)) return String.format(Locale.ROOT, "%,.0f", value);
    if (value != 0 && Math.abs(value) < 0.1) return String.format(Locale.ROOT, "%.3f", value);
    return String.format(Locale.ROOT, "%.2f", value);
  }

  private static String escape(String text) {
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
