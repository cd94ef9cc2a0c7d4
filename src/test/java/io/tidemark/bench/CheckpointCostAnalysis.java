package io.tidemark.bench;

/** What the checkpoint-cost numbers mean; kept next to the code that writes them. */
final class CheckpointCostAnalysis {
  private CheckpointCostAnalysis() {}

  static final String TEXT = """
      **What it costs.** The throttle, not the store, decides how many writes there are: every store gets one save per
      1,000 events at full rate (`checkpoint.every-events`; the time trigger, 1 s, never comes first at these rates), and
      one more at the stop, which the count leaves out. What differs is the price of each save:

      - *H2* and *PostgreSQL* acknowledge a save alone in about a millisecond or less at the median, but it costs this
        process milliseconds of CPU: the checkpoint entity, Jackson, akka-persistence-jdbc and Slick on every save, and
        for H2 also the database itself, which runs in the process and writes and compacts its file. PostgreSQL does that
        part in its own process, which is not counted here, so it costs this process less.
      - *H2, plain SQL* and *PostgreSQL, plain SQL* are `SqlCheckpointStore` on the same two databases: a save is one
        conditional `UPDATE` of the stream's row (epoch and position compared in the `WHERE`) and one `UPDATE` of its
        history slot, committed together; no journal row, no entity, no Jackson, no snapshot and no deletion. The
        difference from the event-sourced row above it is what that machinery costs; what is left is the JDBC driver,
        HikariCP and, for H2, its commit to the file. What it gives up is the journal: the event-sourced store keeps
        every save as an event until a snapshot prunes it, the plain one keeps only the bounded history.
      - *MongoDB* here is the embedded server, in the same process, committing its file before it acknowledges: the
        slowest and the most CPU per save of the stores, all of it counted here because the server is in the process. A
        real `mongod` does that work in its own process and group-commits its journal; measure it there before drawing
        conclusions from this row.
      - *Redis* is the fast shared level: a save is one Lua script (`EVALSHA`) on one connection, answered by a
        server in its own process, so this process pays only Lettuce and the checkpoint's JSON; of the durable stores it
        has the shortest save alone and the least CPU per save. It is as durable as the Redis is configured: the one
        measured here runs as found on this machine, without AOF (`appendonly no`), so a save survives a crash of this
        process but not of Redis; with `appendfsync always` each save waits for an fsync, as a PostgreSQL commit does.
      - *In memory* costs nothing and is not durable.

      The CPU per save alone is the whole process's, user and kernel time: for the stores whose server is in another
      process (PostgreSQL, Redis) most of it is not in Java frames at all (a flight recording of 2,000 plain-SQL saves to
      PostgreSQL sampled 25 Java stacks in 10 s) but the kernel's and the JVM's work around each round trip, which grows
      with the machine's load. The H2 rows are after the cuts of issue 20 (c); the figures before them, and where an
      event-sourced save's CPU goes: [Before and after the cuts of issue 20 (c)](#before-and-after-the-cuts-of-issue-20-c).

      At full rate the saves queue behind the pipeline for the two cores, and their latency grows to milliseconds at the
      median and tens of milliseconds at p99. The pipeline does not wait for them — one save is outstanding at a time,
      and events go on up to N + K past the last durable one — but it pays for their CPU, on a machine where the reader
      and the embedded server share it (see b/b′ in the end-to-end section). A store that writes less often costs less:
      `checkpoint.every-events = 10000` is a tenth of the writes, for a replay bound of N + 10,000. (The pipeline rates
      in the first column are one run each, one store after the other: they scatter with the machine's load; the
      end-to-end section compares rates side by side.)
      """;
}
