package io.tidemark.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Where the CPU goes while a piece of work runs: a JDK Flight Recorder recording of execution
 * samples (every 5 ms on each running Java thread), summarized by layer (what code the sampled
 * thread was in, judged by the innermost frame that is not the JDK's) and by hot method. Also the
 * process CPU time spent, which is what the samples share out.
 */
final class CpuProfile {
  private CpuProfile() {}

  /** Samples per layer and per method; CPU nanoseconds of the whole process. */
  record Summary(long samples, Map<String, Long> layers, Map<String, Long> methods, long cpuNanos) {
    String percent(long count) {
      return samples == 0 ? "-" : String.format(Locale.ROOT, "%.0f %%", 100.0 * count / samples);
    }

    /** The top {@code n} methods with their share of the samples, one markdown list line each. */
    String topMethods(int n) {
      StringBuilder out = new StringBuilder();
      methods.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(n)
          .forEach(e -> out.append("  - `").append(e.getKey()).append("` ").append(percent(e.getValue())).append('\n'));
      return out.toString();
    }
  }

  interface Work {
    void run() throws Exception;
  }

  static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  static Summary record(String name, Work work) throws Exception {
    Path file = Files.createTempFile("tidemark-bench-" + name + "-", ".jfr");
    long cpuBefore;
    long cpuAfter;
    try (Recording recording = new Recording()) {
      recording.enable("jdk.ExecutionSample").withPeriod(Duration.ofMillis(5));
      recording.start();
      cpuBefore = processCpuNanos();
      work.run();
      cpuAfter = processCpuNanos();
      recording.stop();
      recording.dump(file);
    }
    try {
      return summarize(file, cpuAfter - cpuBefore);
    } finally {
      Files.deleteIfExists(file);
    }
  }

  static Summary summarize(Path file, long cpuNanos) throws IOException {
    Map<String, Long> layers = new HashMap<>();
    Map<String, Long> methods = new HashMap<>();
    long samples = 0;
    for (RecordedEvent event : RecordingFile.readAllEvents(file)) {
      if (!event.getEventType().getName().equals("jdk.ExecutionSample")) continue;
      RecordedStackTrace stack = event.getStackTrace();
      if (stack == null || stack.getFrames().isEmpty()) continue;
      samples++;
      List<RecordedFrame> frames = stack.getFrames();
      RecordedFrame top = frames.get(0);
      methods.merge(top.getMethod().getType().getName() + "." + top.getMethod().getName(), 1L, Long::sum);
      layers.merge(layer(frames), 1L, Long::sum);
    }
    Map<String, Long> ordered = new LinkedHashMap<>();
    layers.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed())
        .forEach(e -> ordered.put(e.getKey(), e.getValue()));
    return new Summary(samples, ordered, methods, cpuNanos);
  }

  /** The layer of a sample: the innermost frame outside the JDK decides (JDK code works for whoever called it). */
  static String layer(List<RecordedFrame> frames) {
    List<String> types = new ArrayList<>();
    for (RecordedFrame frame : frames) types.add(frame.getMethod().getType().getName());
    for (String type : types) {
      if (type.startsWith("java.") || type.startsWith("jdk.") || type.startsWith("sun.") || type.startsWith("com.sun.")) continue;
      return layerOf(type);
    }
    return "JDK (threads, I/O, collections)";
  }

  static String layerOf(String type) {
    if (type.startsWith("de.bwaldvogel.") || type.startsWith("io.tidemark.embedded.") || type.startsWith("org.h2.mvstore.")) {
      return "embedded MongoDB server";
    }
    if (type.startsWith("io.netty.")) return "Netty (embedded server's network)";
    if (type.startsWith("com.mongodb.") || type.startsWith("org.bson.")) return "MongoDB driver and BSON";
    if (type.startsWith("akka.stream.alpakka.")) return "Alpakka MongoSource";
    if (type.startsWith("akka.") || type.startsWith("scala.")) return "Akka (streams, actors, dispatcher)";
    if (type.startsWith("io.tidemark.bench.") || type.startsWith("reactor.")) return "bench harness";
    if (type.startsWith("io.tidemark.")) return "Tidemark (source, window, lanes, checkpointer)";
    if (type.startsWith("org.h2.") || type.startsWith("slick.") || type.startsWith("com.zaxxer.")) return "checkpoint store (H2, Slick)";
    return "other (configuration, logging, Jackson, ...)";
  }
}
