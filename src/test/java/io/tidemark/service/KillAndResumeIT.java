package io.tidemark.service;

import io.tidemark.cli.Main;

import static org.assertj.core.api.Assertions.assertThat;

import io.tidemark.Await;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runnable jar as a user runs it: the demo is killed with SIGKILL mid-stream, started again
 * on the same data directory, resumes from its checkpoint, and the audit finds nothing missing.
 */
class KillAndResumeIT {
  private static final Path JAR = Path.of("target", "tidemark.jar");
  private static final Pattern PROCESSED = Pattern.compile("(\\d+) events processed");
  private static final Pattern AUDIT = Pattern.compile("missing=(\\d+) duplicates=(\\d+) processed=(\\d+)");

  private static Process start(Path log, String... args) throws IOException {
    List<String> command = io.tidemark.TidemarkProcess.jvm("-Xmx512m");
    command.addAll(List.of("-jar", JAR.toString()));
    command.addAll(List.of(io.tidemark.Clusters.withFreeManagementPort(args)));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  private static String read(Path log) {
    try {
      return Files.exists(log) ? Files.readString(log) : "";
    } catch (IOException e) {
      return "";
    }
  }

  private static long lastProcessed(Path log) {
    Matcher matcher = PROCESSED.matcher(read(log));
    long last = 0;
    while (matcher.find()) last = Long.parseLong(matcher.group(1));
    return last;
  }

  @Test
  void killMinus9ThenResumeLosesNothing(@TempDir Path dir) throws Exception {
    assertThat(JAR).as("built by mvn package").exists();
    Path data = dir.resolve("data");
    Path firstLog = dir.resolve("first.log");
    Process first = start(firstLog, "demo", "--data", data.toString(), "--rate", "150");
    try {
      Await.until(Duration.ofSeconds(90), () -> lastProcessed(firstLog) >= 400 || !first.isAlive(),
          () -> "400 events processed by the first run; log:\n" + read(firstLog));
      assertThat(first.isAlive()).as("first run still running; log:\n%s", read(firstLog)).isTrue();
    } finally {
      first.destroyForcibly(); // SIGKILL: no shutdown hook, no drain, no flush
      first.waitFor(30, TimeUnit.SECONDS);
    }

    Path secondLog = dir.resolve("second.log");
    Process second = start(secondLog, "demo", "--data", data.toString(), "--events", "300", "--rate", "150");
    assertThat(second.waitFor(180, TimeUnit.SECONDS)).as("second run finished; log:\n%s", read(secondLog)).isTrue();
    assertThat(second.exitValue()).as("second run exit code; log:\n%s", read(secondLog)).isZero();
    assertThat(read(secondLog)).contains("resuming from the stored checkpoint, resumeAfter {\"_data\": \"");

    Path auditLog = dir.resolve("verify.log");
    Path auditErr = dir.resolve("verify.err");
    List<String> verifyCommand = io.tidemark.TidemarkProcess.jvm("-Xmx512m");
    verifyCommand.addAll(List.of("-jar", JAR.toString(), "verify", "--data", data.toString()));
    Process verify = new ProcessBuilder(verifyCommand).redirectOutput(auditLog.toFile()).redirectError(auditErr.toFile()).start();
    assertThat(verify.waitFor(120, TimeUnit.SECONDS)).isTrue();
    String audit = read(auditLog);
    assertThat(audit.lines()).as("verify's stdout is its result line only (scripts parse it); stderr:\n%s", read(auditErr))
        .singleElement().asString().startsWith("missing=");
    Matcher result = AUDIT.matcher(audit);
    assertThat(result.find()).as("audit line in:\n%s", audit).isTrue();
    assertThat(verify.exitValue()).as(audit).isZero();
    assertThat(Long.parseLong(result.group(1))).as("missing").isZero();
    assertThat(Long.parseLong(result.group(2))).as("duplicates, at most window + throttle").isLessThanOrEqualTo(2_000);
    assertThat(Long.parseLong(result.group(3))).as("processed").isGreaterThanOrEqualTo(700);
  }

  /**
   * {@code verify --mongodb} against a demo whose workload is still writing (issue 18, defect 8:
   * events in flight were counted as missing, 7 to 36 in 9 runs): it audits the events up to the
   * oplog's newest when it begins, waits for them, and says so.
   */
  @Test
  void verifyAgainstARunningPipelineAuditsUpToItsCutAndSaysSo(@TempDir Path dir) throws Exception {
    int port = io.tidemark.Clusters.freePort();
    Path log = dir.resolve("demo.log");
    Process demo = start(log, "demo", "--data", dir.resolve("data").toString(), "--port", String.valueOf(port), "--rate", "150");
    try {
      Await.until(Duration.ofSeconds(90), () -> lastProcessed(log) >= 300 || !demo.isAlive(),
          () -> "300 events processed; log:\n" + read(log));
      Path out = dir.resolve("verify.out");
      Path err = dir.resolve("verify.err");
      List<String> verifyCommand = io.tidemark.TidemarkProcess.jvm("-Xmx512m");
      verifyCommand.addAll(List.of("-jar", JAR.toString(), "verify", "--mongodb", "mongodb://127.0.0.1:" + port + "/"));
      Process verify = new ProcessBuilder(verifyCommand).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      assertThat(verify.waitFor(120, TimeUnit.SECONDS)).isTrue();
      assertThat(demo.isAlive()).as("the demo was still running; log:\n%s", read(log)).isTrue();
      Matcher result = AUDIT.matcher(read(out));
      assertThat(result.find()).as("audit line in %s; stderr:\n%s", read(out), read(err)).isTrue();
      assertThat(Long.parseLong(result.group(1))).as("missing; stderr:\n%s", read(err)).isZero();
      assertThat(verify.exitValue()).isZero();
      assertThat(read(err)).contains("audited the events up to").contains("not audited");
    } finally {
      demo.destroyForcibly();
      demo.waitFor(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void theJarAnswersAnUnknownCommandWithOneLine(@TempDir Path dir) throws Exception {
    Path log = dir.resolve("unknown.log");
    Process process = start(log, "frobnicate");
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(process.exitValue()).isEqualTo(Main.USAGE);
    assertThat(read(log).strip()).isEqualTo("error: unknown command 'frobnicate'; expected one of: run, tail, demo, verify, mongo, node, workload, checkpoints, status, report, snapshot, help (see --help)");
  }

}
