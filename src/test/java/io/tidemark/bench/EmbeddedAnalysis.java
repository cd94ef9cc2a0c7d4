package io.tidemark.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The embedded benchmark's section of docs/benchmarks.md and its charts. */
final class EmbeddedAnalysis {
  private EmbeddedAnalysis() {}

  /** What the figures say; written from a run, kept with the code that makes them. */
  static final String TEXT = """
      **Flat where it matters.** The questions that read a handful of documents stay at a few milliseconds from 10,000 to
      1,000,000 documents and entries: the oplog monitor's sample (two entries and `collStats`), a bare `find()` to its first
      document (a first batch of 101, not the collection), an `_id`-range batch of 1,000 (a range of the `_id`-ordered store).
      On the stock backend they grow with the data: at 100,000 a sample took 2.5 s, a first document 1.6 s, a batch 171 ms
      (the issue measured a sample at 13 s of server CPU at 200,000 entries and 115 s at 1,000,000; this run did not try the
      stock backend at 1,000,000). A change stream reads tens of thousands of events a second at every size; it slows as the
      oplog outgrows the 16 MB page cache (72,000 events/s at 10,000 entries, 28,000 at 1,000,000), where the stock oplog,
      which filters and sorts the whole oplog on every getMore, managed 16 to 360.

      **Storage.** A document and its oplog entry take about 320 bytes of file (316 MB for a million of each after the load);
      the stock backend's Java-serialized documents took 1.3 GB for 100,000, 42 times as much. The file at the end is larger
      than after the load: the single-document commits of the write measurements leave chunks that the store compacts as it
      goes (every `compact-every-commits` commits), not all at once.

      **What atomic commits cost.** A write is acknowledged after the commit that stores it with its oplog entry: 0.2 to
      0.5 ms more per write here than committing once a second (2,482 against 9,960 writes/s from one client at 1,000,000
      documents). Four clients share commits, but gain little: with no fsync, a commit's work is writing the pages its writes
      changed, which grows with the writes it covers, and every write waits while a commit runs (it holds the exclusive lock
      that keeps it from storing half a write); on 2 cores the clients mostly take turns. A `mongod` journals with fsync,
      which costs more per commit and shares better.

      **Memory.** Opening a data directory of any size takes about 105 MB of resident memory: the server holds no index in
      memory but the store's 16 MB page cache. Reading every document and entry through a client holds one batch at a time,
      but it makes garbage, and a JVM keeps the heap it grew: with the JVM's defaults (a heap of up to 6 GB on this 24 GB
      machine) the `mongo` command's RSS rose to 1.1 GB at 1,000,000 documents; with `-Xmx256m` it stayed at 190 to 310 MB at
      every size. Memory does not grow with the data, but the heap grows to what the JVM is allowed: give the `mongo` command
      (and the demo) an `-Xmx`.

      The machine is shared: the one-minute load average is given above, and the figures scatter by tens of percent from run
      to run (the writes per second do not order by size: that is the scatter, not the size).
      """;

  static final String DURABLE = "tidemark, commit before ack";
  static final String PERIODIC = "tidemark, commit once a second";
  static final String STOCK = "stock H2Backend";

  private static EmbeddedBenchmark.Row row(List<EmbeddedBenchmark.Row> rows, String server, int size) {
    return rows.stream().filter(row -> row.server().equals(server) && row.size() == size).findFirst().orElse(null);
  }

  private static String n(double value) {
    return Double.isNaN(value) ? "–" : String.format(Locale.ROOT, "%,.0f", value);
  }

  private static String ms(double value) {
    if (Double.isNaN(value)) return "–";
    if (value >= 1_000) return String.format(Locale.ROOT, "%,.1f s", value / 1_000);
    return String.format(Locale.ROOT, value >= 10 ? "%,.0f ms" : "%.1f ms", value);
  }

  private static String mb(double value) {
    return Double.isNaN(value) ? "–" : String.format(Locale.ROOT, value >= 10 ? "%,.0f MB" : "%.1f MB", value);
  }

  private static String ratio(double value) {
    return Double.isNaN(value) || Double.isInfinite(value) ? "–" : String.format(Locale.ROOT, value >= 10 ? "**%,.0f×**" : "**%.1f×**", value);
  }

  static String section(List<EmbeddedBenchmark.Row> rows, List<Integer> sizes, List<double[]> memory, long budgetNanos, String conditions) {
    StringBuilder md = new StringBuilder();
    md.append("## The embedded MongoDB against the size of its data\n\n");
    md.append("Command: `mvn -B -Pbench test-compile exec:exec -Dbench=embedded [-Dbench.embedded.sizes=10000,100000,1000000]\n");
    md.append("[-Dbench.embedded.stock-sizes=10000,100000]`. `EmbeddedBenchmark`: n orders (about 120 bytes of BSON each) inserted in\n");
    md.append("batches of 1,000 into a server on a data file, so the collection holds n documents and the oplog n entries; then, through\n");
    md.append("the sync driver from the same JVM: " + String.format(Locale.ROOT, "%,d", EmbeddedBenchmark.WRITES)
        + " single-document updates by `_id` from 1 client and from " + EmbeddedBenchmark.WRITERS + " (acknowledged\n");
    md.append("writes per second); a change stream opened " + String.format(Locale.ROOT, "%,d", EmbeddedBenchmark.BACKLOG)
        + " events back (`startAtOperationTime`) and read to the end (events per second); one\n");
    md.append("sample of the oplog monitor (`OplogMonitor.read`: first and last entry by `$natural`, `collStats`; median of 5); a\n");
    md.append("bare `find()` to its first document (median of 5); an `_id`-range batch, `{_id: {$gt: x}}` sorted by `_id`, limit 1,000\n");
    md.append("(the snapshot's batch; median of 10). The data file is measured after the load and at the end. Then the data directory\n");
    md.append("is opened by the `mongo` command in its own process, once with the JVM's default options (a heap of up to a quarter of\n");
    md.append("the memory) and once with `-Xmx256m`, and every document and oplog entry is read through a client: its resident memory\n");
    md.append("(RSS) after opening, after the reads, and at its peak. *Commit before ack* is the default (`commit-before-ack = on`: each\n");
    md.append("acknowledged write is committed with its oplog entry, concurrent writes share a commit); *commit once a second* is\n");
    md.append("`off`; *stock* is mongo-java-server 1.47.0's `H2Backend` with its own oplog, whose MVStore commits in the background\n");
    md.append("about once a second (so its acknowledged writes are not durable). Each measurement stops after "
        + budgetNanos / 1_000_000_000L + " s and reports\n");
    md.append("what it got so far.\n\n");
    md.append(conditions).append("\n\n");

    md.append("### Against size (commit before ack)\n\n");
    md.append("| documents | load, docs/s | data file: loaded / at the end | writes/s, 1 client | writes/s, " + EmbeddedBenchmark.WRITERS
        + " clients | change stream, events/s | monitor sample | bare find(), first document | `_id`-range batch of 1,000 | `mongo` RSS, JVM defaults: opened / after reading all / peak | `mongo` RSS, `-Xmx256m`: peak |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for (int i = 0; i < sizes.size(); i++) {
      int size = sizes.get(i);
      EmbeddedBenchmark.Row row = row(rows, DURABLE, size);
      if (row == null) continue;
      double[] rss = i < memory.size() && memory.get(i) != null ? memory.get(i)
          : new double[] {Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN, Double.NaN};
      md.append(String.format(Locale.ROOT, "| %,d | %s | %s / %s | %s | %s | %s | %s | %s | %s | %s / %s / %s | %s |%n", size,
          n(row.loadPerSecond()), mb(row.loadedMegabytes()), mb(row.fileMegabytes()), n(row.writesPerSecond()),
          n(row.concurrentWritesPerSecond()), n(row.eventsPerSecond()), ms(row.monitorMillis()), ms(row.firstDocumentMillis()),
          ms(row.rangeBatchMillis()), mb(rss[0]), mb(rss[1]), mb(rss[2]), mb(rss[5])));
    }
    md.append("\n![writes per second against size](img/embedded-writes.svg)\n\n");
    md.append("![reads against size](img/embedded-reads.svg)\n\n");
    md.append("![resident memory of the mongo command against size](img/embedded-memory.svg)\n\n");

    md.append("### What atomic commits cost\n\n");
    md.append("| documents | 1 client: commit before ack / once a second | " + EmbeddedBenchmark.WRITERS
        + " clients: commit before ack / once a second |\n|---|---|---|\n");
    for (int size : sizes) {
      EmbeddedBenchmark.Row durable = row(rows, DURABLE, size);
      EmbeddedBenchmark.Row periodic = row(rows, PERIODIC, size);
      if (durable == null || periodic == null) continue;
      md.append(String.format(Locale.ROOT, "| %,d | %s / %s writes/s (%s) | %s / %s writes/s (%s) |%n", size,
          n(durable.writesPerSecond()), n(periodic.writesPerSecond()), ratio(durable.writesPerSecond() / periodic.writesPerSecond()),
          n(durable.concurrentWritesPerSecond()), n(periodic.concurrentWritesPerSecond()),
          ratio(durable.concurrentWritesPerSecond() / periodic.concurrentWritesPerSecond())));
    }
    md.append("\n### Against mongo-java-server's stock H2 backend, in the same run\n\n");
    md.append("| documents | | load, docs/s | data file: loaded / at the end | writes/s, 1 client | writes/s, " + EmbeddedBenchmark.WRITERS
        + " clients | change stream, events/s | monitor sample | bare find(), first document | `_id`-range batch |\n");
    md.append("|---|---|---|---|---|---|---|---|---|---|\n");
    StringBuilder failures = new StringBuilder();
    for (int size : sizes) {
      EmbeddedBenchmark.Row stock = row(rows, STOCK, size);
      EmbeddedBenchmark.Row ours = row(rows, DURABLE, size);
      if (stock == null || ours == null) continue;
      md.append(String.format(Locale.ROOT, "| %,d | stock | %s | %s / %s | %s | %s | %s | %s | %s | %s |%n", size, n(stock.loadPerSecond()),
          mb(stock.loadedMegabytes()), mb(stock.fileMegabytes()), n(stock.writesPerSecond()), n(stock.concurrentWritesPerSecond()),
          n(stock.eventsPerSecond()), ms(stock.monitorMillis()), ms(stock.firstDocumentMillis()), ms(stock.rangeBatchMillis())));
      md.append(String.format(Locale.ROOT, "| | tidemark | %s | %s / %s | %s | %s | %s | %s | %s | %s |%n", n(ours.loadPerSecond()),
          mb(ours.loadedMegabytes()), mb(ours.fileMegabytes()), n(ours.writesPerSecond()), n(ours.concurrentWritesPerSecond()),
          n(ours.eventsPerSecond()), ms(ours.monitorMillis()), ms(ours.firstDocumentMillis()), ms(ours.rangeBatchMillis())));
      md.append(String.format(Locale.ROOT, "| | tidemark / stock | %s | %s | %s | %s | %s | %s | %s | %s |%n",
          ratio(ours.loadPerSecond() / stock.loadPerSecond()), ratio(stock.loadedMegabytes() / ours.loadedMegabytes()) + " smaller",
          ratio(ours.writesPerSecond() / stock.writesPerSecond()), ratio(ours.concurrentWritesPerSecond() / stock.concurrentWritesPerSecond()),
          ratio(ours.eventsPerSecond() / stock.eventsPerSecond()), ratio(stock.monitorMillis() / ours.monitorMillis()) + " faster",
          ratio(stock.firstDocumentMillis() / ours.firstDocumentMillis()) + " faster",
          ratio(stock.rangeBatchMillis() / ours.rangeBatchMillis()) + " faster"));
      if (!stock.notes().isEmpty()) failures.append(String.format(Locale.ROOT, "- stock at %,d documents: %s%n", size, stock.notes()));
    }
    if (failures.length() > 0) md.append("\nWhat failed on the stock backend (–: not measured):\n\n").append(failures);
    md.append("\n").append(TEXT);
    return md.toString();
  }

  static void charts(List<EmbeddedBenchmark.Row> rows, List<Integer> sizes, List<double[]> memory) throws IOException {
    List<Report.Bar> writes = new ArrayList<>();
    List<Report.Bar> reads = new ArrayList<>();
    List<Report.Bar> resident = new ArrayList<>();
    for (int i = 0; i < sizes.size(); i++) {
      int size = sizes.get(i);
      String label = String.format(Locale.ROOT, "%,d docs", size);
      EmbeddedBenchmark.Row durable = row(rows, DURABLE, size);
      EmbeddedBenchmark.Row periodic = row(rows, PERIODIC, size);
      if (durable != null) {
        writes.add(new Report.Bar(label + ", commit before ack, 1 client", durable.writesPerSecond(), "commit before ack, 1 client"));
        writes.add(new Report.Bar(label + ", commit before ack, " + EmbeddedBenchmark.WRITERS + " clients", durable.concurrentWritesPerSecond(),
            "commit before ack, " + EmbeddedBenchmark.WRITERS + " clients"));
        reads.add(new Report.Bar(label + ", monitor sample", durable.monitorMillis(), "monitor sample"));
        reads.add(new Report.Bar(label + ", bare find(), first document", durable.firstDocumentMillis(), "bare find(), first document"));
        reads.add(new Report.Bar(label + ", _id-range batch of 1,000", durable.rangeBatchMillis(), "_id-range batch of 1,000"));
      }
      if (periodic != null) {
        writes.add(new Report.Bar(label + ", once a second, 1 client", periodic.writesPerSecond(), "commit once a second, 1 client"));
        writes.add(new Report.Bar(label + ", once a second, " + EmbeddedBenchmark.WRITERS + " clients", periodic.concurrentWritesPerSecond(),
            "commit once a second, " + EmbeddedBenchmark.WRITERS + " clients"));
      }
      if (i < memory.size() && memory.get(i) != null) {
        resident.add(new Report.Bar(label + ", opened", memory.get(i)[0], "opened, JVM defaults"));
        resident.add(new Report.Bar(label + ", peak, JVM defaults", memory.get(i)[2], "peak after reading everything, JVM defaults"));
        resident.add(new Report.Bar(label + ", peak, -Xmx256m", memory.get(i)[5], "peak after reading everything, -Xmx256m"));
      }
    }
    Report.barChart("embedded-writes.svg", "Acknowledged writes per second against size (higher is better)", "writes/s", writes);
    Report.barChart("embedded-reads.svg", "Reads against size (lower is better)", "ms", reads);
    Report.barChart("embedded-memory.svg", "Resident memory of the mongo command against size", "MB", resident);
  }
}
