package io.tidemark.bench;

import java.util.Arrays;
import java.util.Collection;

/** Order statistics of a handful of measurements: median, percentiles (nearest rank), min, max, mean. */
record Stats(double[] sorted) {
  static Stats of(Collection<? extends Number> values) {
    double[] sorted = values.stream().mapToDouble(Number::doubleValue).sorted().toArray();
    return new Stats(sorted);
  }

  static Stats of(double... values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return new Stats(sorted);
  }

  int count() {
    return sorted.length;
  }

  /** The nearest-rank percentile: the smallest value with at least p % of the values at or below it. */
  double percentile(double p) {
    if (sorted.length == 0) return Double.NaN;
    int rank = (int) Math.ceil(p / 100.0 * sorted.length);
    return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
  }

  double median() {
    if (sorted.length == 0) return Double.NaN;
    int mid = sorted.length / 2;
    return sorted.length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  }

  double min() {
    return sorted.length == 0 ? Double.NaN : sorted[0];
  }

  double max() {
    return sorted.length == 0 ? Double.NaN : sorted[sorted.length - 1];
  }

  double mean() {
    return sorted.length == 0 ? Double.NaN : Arrays.stream(sorted).average().orElse(Double.NaN);
  }
}
