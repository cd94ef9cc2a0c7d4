package io.tidemark.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import javax.management.ObjectName;

/**
 * CPU time of this process's threads, from {@code /proc/self/task/<tid>/schedstat} (nanoseconds
 * on the CPU), named by the JVM's thread dump where it knows the thread (full Java names: the
 * kernel's {@code comm} keeps 15 characters) and by {@code comm} otherwise (the JIT compilers,
 * GC and other VM threads), and grouped into a few kinds (see {@link #group}).
 */
final class ThreadCpu {
  private ThreadCpu() {}

  /** Nanoseconds on the CPU and the kernel's name, by thread id, now. */
  record Snapshot(Map<Long, Long> nanos, Map<Long, String> comm) {}

  static Snapshot snapshot() {
    Map<Long, Long> nanos = new HashMap<>();
    Map<Long, String> comm = new HashMap<>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
      for (Path task : (Iterable<Path>) tasks::iterator) {
        try {
          long tid = Long.parseLong(task.getFileName().toString());
          String schedstat = Files.readString(task.resolve("schedstat"));
          nanos.put(tid, Long.parseLong(schedstat.substring(0, schedstat.indexOf(' '))));
          comm.put(tid, Files.readString(task.resolve("comm")).trim());
        } catch (IOException | RuntimeException e) {
          // The thread ended while being read: its time is gone with it.
        }
      }
    } catch (IOException e) {
      return new Snapshot(Map.of(), Map.of());
    }
    return new Snapshot(nanos, comm);
  }

  /** The Java names of the live threads by native id, from the JVM's own thread dump ({@code nid=0x…}). */
  static Map<Long, String> javaNames() {
    Map<Long, String> names = new HashMap<>();
    try {
      String dump = (String) ManagementFactory.getPlatformMBeanServer().invoke(new ObjectName("com.sun.management:type=DiagnosticCommand"),
          "threadPrint", new Object[] {new String[0]}, new String[] {String[].class.getName()});
      Matcher m = Pattern.compile("(?m)^\"(.*)\" .*nid=0x([0-9a-f]+)").matcher(dump);
      while (m.find()) names.put(Long.parseLong(m.group(2), 16), m.group(1));
    } catch (Exception e) {
      // No names: the kernel's ones will do.
    }
    return names;
  }

  /** CPU nanoseconds by thread name (numbers replaced by {@code #}) between two snapshots; a thread started in between counts from zero. */
  static Map<String, Long> byName(Snapshot before, Snapshot after, Map<Long, String> javaNames) {
    Map<String, Long> out = new TreeMap<>();
    after.nanos().forEach((tid, ns) -> {
      long spent = ns - before.nanos().getOrDefault(tid, 0L);
      if (spent <= 0) return;
      String name = javaNames.getOrDefault(tid, after.comm().get(tid)).replaceAll("[0-9]+", "#").replace(' ', '_');
      out.merge(name, spent, Long::sum);
    });
    return out;
  }

  /** The kinds the e2e report sums the threads into. */
  static final String[] GROUPS = {"JIT", "GC", "VM thread", "other JVM", "Akka", "driver", "H2 / JDBC", "other"};

  static String group(String name) {
    if (name.startsWith("C#_Compiler") || name.startsWith("Sweeper")) return "JIT";
    if (name.startsWith("GC_Thread") || name.startsWith("G#_")) return "GC";
    // One core (taskset) makes the JVM pick the serial collector, which collects on the VM thread (with the safepoints).
    if (name.equals("VM_Thread")) return "VM thread";
    if (name.startsWith("VM_") || name.startsWith("Monitor_Deflation") || name.startsWith("Signal") || name.startsWith("Service_Thread") || name.startsWith("Common-Cleaner")
        || name.startsWith("Reference_Handler") || name.startsWith("Finalizer") || name.startsWith("JFR") || name.startsWith("Attach")
        || name.startsWith("Notification_Thread")) return "other JVM";
    if (name.startsWith("db-#") || name.contains("h2") || name.contains("H2") || name.contains("hikari") || name.contains("Hikari") || name.contains("slick")
        || name.contains("blocking-dispatcher")) return "H2 / JDBC";
    if (name.contains("akka") || name.contains("dispatcher") || name.contains("scheduler")) return "Akka";
    if (name.startsWith("tidemark-mongo") || name.contains("mongo") || name.contains("Mongo") || name.contains("nioEventLoop") || name.startsWith("AsyncGetter") || name.startsWith("cluster-")
        || name.startsWith("MaintenanceTimer") || name.startsWith("BufferPoolPruner") || name.contains("AsynchronousChannel")
        || name.contains("Thread-#")) return "driver";
    return "other";
  }
}
