package io.tidemark.management;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The shipped alert rules (deploy/prometheus) pass {@code promtool check rules} and their unit tests
 * ({@code promtool test rules}); they and the Grafana dashboard (deploy/grafana) name only metrics
 * that {@code /metrics} serves. Without promtool the promtool checks are skipped, except in CI
 * (CI=true), where that is a failure: {@code .ci/run} installs it (Debian's {@code prometheus}).
 */
class AlertRulesTest {
  private static final Path RULES = Path.of("deploy", "prometheus", "alerts.yml");
  private static final Path RULE_TESTS = Path.of("deploy", "prometheus", "alerts.test.yml");
  private static final Path DASHBOARD = Path.of("deploy", "grafana", "tidemark-dashboard.json");
  private static final Pattern METRIC = Pattern.compile("\\b((?:tidemark|jvm|process)_[a-z_]+)");

  private static String promtool(String... args) throws Exception {
    String promtool = System.getenv().getOrDefault("PROMTOOL", "promtool");
    boolean present = System.getenv("PATH") != null && java.util.Arrays.stream(System.getenv("PATH").split(File.pathSeparator))
        .anyMatch(dir -> Files.isExecutable(Path.of(dir, promtool))) || Files.isExecutable(Path.of(promtool));
    if (!present) {
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        throw new AssertionError("promtool is required in CI (CI=true) but not on the PATH: .ci/run installs it (apt-get install prometheus)");
      }
      Assumptions.abort("promtool not installed (apt-get install prometheus): the alert rules are not checked");
    }
    List<String> command = new ArrayList<>(List.of(promtool));
    command.addAll(List.of(args));
    Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
    assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("promtool finished").isTrue();
    String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.exitValue()).as("promtool %s:\n%s", String.join(" ", args), output).isZero();
    return output;
  }

  @Test
  void theRulesAreValid() throws Exception {
    long rules = Files.readAllLines(RULES).stream().filter(line -> line.strip().startsWith("- alert:")).count();
    assertThat(rules).as("alert rules in %s", RULES).isGreaterThanOrEqualTo(12);
    assertThat(promtool("check", "rules", RULES.toString())).contains("SUCCESS: " + rules + " rules found");
  }

  @Test
  void theRulesFireAsTheirTestsSay() throws Exception {
    assertThat(promtool("test", "rules", RULE_TESTS.toString())).contains("SUCCESS");
  }

  @Test
  void theRulesAndTheDashboardNameOnlyServedMetrics() throws Exception {
    Set<String> served = new TreeSet<>();
    ActorTestKit kit = ActorTestKit.create("alert-rules");
    try {
      for (MetricSnapshot snapshot : TidemarkMetrics.get(kit.system()).registry().scrape()) {
        served.add(snapshot.getMetadata().getPrometheusName());
      }
    } finally {
      kit.shutdownTestKit();
    }
    JsonNode dashboard = new ObjectMapper().readTree(DASHBOARD.toFile());
    List<String> expressions = new ArrayList<>();
    dashboard.findValues("expr").forEach(expr -> expressions.add(expr.asText()));
    assertThat(expressions).as("the dashboard's queries").hasSizeGreaterThan(10);
    String rules = Files.readString(RULES);
    Set<String> named = new TreeSet<>();
    for (String text : List.of(String.join("\n", expressions), rules)) {
      Matcher matcher = METRIC.matcher(text);
      while (matcher.find()) named.add(matcher.group(1).replaceAll("_(total|sum|count|bucket)$", ""));
    }
    assertThat(named).as("metrics the rules and the dashboard name").contains("tidemark_stream_up", "tidemark_lag_seconds", "jvm_memory_used_bytes");
    assertThat(served).containsAll(named);
  }
}
