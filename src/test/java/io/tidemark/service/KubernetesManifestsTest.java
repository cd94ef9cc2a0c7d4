package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;

/**
 * deploy/kubernetes/, checked offline (no cluster, no kubectl): every manifest parses, has the
 * apiVersion of its kind, and the pieces fit together and fit conf/kubernetes.conf: selectors and
 * labels match, probes hit /ready and /alive on the management port the configuration binds, the
 * pods' label is the one Akka Discovery looks for, their service account may get, watch and list
 * pods, every required variable is set (credentials from the Secret's files), and the ConfigMap's
 * configuration loads as the service loads it, streams included.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class KubernetesManifestsTest {
  private static final Path DIR = Path.of("deploy", "kubernetes");
  private static final Map<String, String> API_VERSIONS = Map.of(
      "Namespace", "v1", "ServiceAccount", "v1", "ConfigMap", "v1", "Service", "v1",
      "Role", "rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.authorization.k8s.io/v1",
      "Deployment", "apps/v1", "PodDisruptionBudget", "policy/v1");

  private final Map<String, Map<String, Object>> byKind = new LinkedHashMap<>();
  private List<String> files;

  @BeforeAll
  void readTheManifests() throws Exception {
    Map<String, Object> kustomization = yaml(Files.readString(DIR.resolve("kustomization.yaml"))).get(0);
    files = strings(kustomization.get("resources"));
    try (var listed = Files.list(DIR)) {
      assertThat(listed.map(file -> file.getFileName().toString()).filter(name -> !name.equals("kustomization.yaml")).sorted())
          .as("every manifest is in kustomization.yaml").containsExactlyInAnyOrderElementsOf(files);
    }
    for (String file : files) {
      for (Map<String, Object> object : yaml(Files.readString(DIR.resolve(file)))) {
        String kind = (String) object.get("kind");
        assertThat(byKind.put(kind, object)).as("one %s", kind).isNull();
      }
    }
  }

  @Test
  void everyObjectHasTheApiVersionOfItsKindANameTheNamespaceAndTheLabel() {
    assertThat(byKind.keySet()).containsExactlyInAnyOrderElementsOf(API_VERSIONS.keySet());
    byKind.forEach((kind, object) -> {
      assertThat(object.get("apiVersion")).as(kind).isEqualTo(API_VERSIONS.get(kind));
      Map<String, Object> metadata = map(object.get("metadata"));
      assertThat((String) metadata.get("name")).as(kind).matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
      assertThat(map(metadata.get("labels"))).as(kind).containsEntry("app", "tidemark");
      if (!kind.equals("Namespace")) assertThat(metadata.get("namespace")).as(kind).isEqualTo(name("Namespace"));
    });
  }

  @Test
  void theSelectorsPickThePodsAndThePodsCarryTheLabelDiscoveryLooksFor() throws Exception {
    Map<String, Object> spec = map(byKind.get("Deployment").get("spec"));
    Map<String, Object> podLabels = map(map(map(spec.get("template")).get("metadata")).get("labels"));
    Map<String, Object> selector = map(map(spec.get("selector")).get("matchLabels"));
    assertThat(podLabels).containsAllEntriesOf(selector);
    assertThat(podLabels).containsAllEntriesOf(map(map(byKind.get("Service").get("spec")).get("selector")));
    assertThat(map(map(map(byKind.get("PodDisruptionBudget").get("spec")).get("selector")).get("matchLabels"))).isEqualTo(selector);
    assertThat(map(byKind.get("PodDisruptionBudget").get("spec"))).containsEntry("maxUnavailable", 1);

    Config config = load();
    String labelSelector = String.format(config.getString("akka.discovery.kubernetes-api.pod-label-selector"),
        config.getString("akka.management.cluster.bootstrap.contact-point-discovery.service-name"));
    String[] label = labelSelector.split("=", 2);
    assertThat(podLabels).as("Akka Discovery lists the pods by %s", labelSelector).containsEntry(label[0], label[1]);
    assertThat(spec.get("replicas")).as("the replicas are the contact points a new cluster waits for")
        .isEqualTo(config.getInt("akka.management.cluster.bootstrap.contact-point-discovery.required-contact-point-nr"));
  }

  @Test
  void theProbesAndPortsAreTheConfiguredOnes() throws Exception {
    Config config = load();
    Map<String, Object> container = container();
    Map<String, Integer> ports = new HashMap<>();
    for (Object port : list(container.get("ports"))) ports.put((String) map(port).get("name"), (Integer) map(port).get("containerPort"));
    String managementPort = config.getString("akka.management.cluster.bootstrap.contact-point-discovery.port-name");
    assertThat(ports).containsEntry(managementPort, config.getInt("akka.management.http.port"))
        .containsEntry("remoting", config.getInt("akka.remote.artery.canonical.port"));
    assertThat(config.getString("akka.management.http.bind-hostname")).as("reachable from the kubelet and the other pods").isEqualTo("0.0.0.0");

    String ready = "/" + config.getString("akka.management.health-checks.readiness-path");
    String alive = "/" + config.getString("akka.management.health-checks.liveness-path");
    assertThat(map(map(container.get("readinessProbe")).get("httpGet"))).containsEntry("path", ready).containsEntry("port", managementPort);
    assertThat(map(map(container.get("livenessProbe")).get("httpGet"))).containsEntry("path", alive).containsEntry("port", managementPort);
    assertThat(map(map(container.get("startupProbe")).get("httpGet"))).containsEntry("path", alive).containsEntry("port", managementPort);
    Map<String, Object> servicePort = map(list(map(byKind.get("Service").get("spec")).get("ports")).get(0));
    assertThat(servicePort).containsEntry("targetPort", managementPort).containsEntry("port", config.getInt("akka.management.http.port"));

    Map<String, Object> annotations = map(map(map(map(byKind.get("Deployment").get("spec")).get("template")).get("metadata")).get("annotations"));
    assertThat(annotations).containsEntry("prometheus.io/port", String.valueOf(config.getInt("akka.management.http.port")))
        .containsEntry("prometheus.io/path", "/metrics");
    long grace = ((Number) podSpec().get("terminationGracePeriodSeconds")).longValue();
    assertThat(grace).as("time to drain and save").isGreaterThan(config.getDuration("tidemark.pipeline.drain-timeout").toSeconds());
  }

  @Test
  void thePodsMayGetWatchAndListPodsAndNothingElse() {
    Map<String, Object> role = byKind.get("Role");
    List<Object> rules = list(role.get("rules"));
    assertThat(rules).hasSize(1);
    Map<String, Object> rule = map(rules.get(0));
    assertThat(strings(rule.get("apiGroups"))).containsExactly("");
    assertThat(strings(rule.get("resources"))).containsExactly("pods");
    assertThat(strings(rule.get("verbs"))).containsExactlyInAnyOrder("get", "watch", "list");

    Map<String, Object> binding = byKind.get("RoleBinding");
    assertThat(map(binding.get("roleRef"))).containsEntry("kind", "Role").containsEntry("name", name("Role"))
        .containsEntry("apiGroup", "rbac.authorization.k8s.io");
    assertThat(list(binding.get("subjects"))).containsExactly(Map.of("kind", "ServiceAccount", "name", name("ServiceAccount"),
        "namespace", name("Namespace")));
    assertThat(podSpec()).containsEntry("serviceAccountName", name("ServiceAccount"));
  }

  @Test
  void theContainerRunsTheServiceWithTheConfigMapAndTheSecretsFiles() {
    Map<String, Object> container = container();
    Map<String, String> mounts = new HashMap<>();
    for (Object mount : list(container.get("volumeMounts"))) mounts.put((String) map(mount).get("name"), (String) map(mount).get("mountPath"));
    Map<String, Map<String, Object>> volumes = new HashMap<>();
    for (Object volume : list(podSpec().get("volumes"))) volumes.put((String) map(volume).get("name"), map(volume));

    // run --config <the ConfigMap's tidemark.conf, where it is mounted>
    List<String> args = strings(container.get("args"));
    assertThat(args.subList(0, 2)).containsExactly("run", "--config");
    String configVolume = volumeOf(volumes, "configMap");
    assertThat(map(volumes.get(configVolume).get("configMap"))).containsEntry("name", name("ConfigMap"));
    assertThat(args.get(2)).isEqualTo(mounts.get(configVolume) + "/tidemark.conf");
    assertThat(map(byKind.get("ConfigMap").get("data"))).containsKey("tidemark.conf");

    // Every *_FILE variable names a key of the Secret's volume.
    String secretVolume = volumeOf(volumes, "secret");
    Map<String, Object> secret = map(volumes.get(secretVolume).get("secret"));
    assertThat(secret).containsEntry("secretName", "tidemark");
    List<String> secretFiles = new ArrayList<>();
    for (Object item : list(secret.get("items"))) secretFiles.add(mounts.get(secretVolume) + "/" + map(item).get("path"));
    Map<String, String> env = environment();
    List<String> fileVariables = env.keySet().stream().filter(name -> name.endsWith("_FILE")).toList();
    assertThat(fileVariables).containsExactlyInAnyOrder("TIDEMARK_MONGODB_URI_FILE", "TIDEMARK_JDBC_PASSWORD_FILE");
    assertThat(fileVariables.stream().map(env::get).toList()).containsExactlyInAnyOrderElementsOf(secretFiles);
    assertThat(env).containsEntry("TIDEMARK_POD_IP", "fieldRef:status.podIP");
  }

  @Test
  void theImageHoldsTheIncludedConfiguration() throws Exception {
    String configMap = (String) map(byKind.get("ConfigMap").get("data")).get("tidemark.conf");
    Matcher include = Pattern.compile("include file\\(\"(/app/conf/)kubernetes\\.conf\"\\)").matcher(configMap);
    assertThat(include.find()).as("the ConfigMap includes the image's conf/kubernetes.conf").isTrue();
    assertThat(Files.readString(Path.of("src", "main", "docker", "Dockerfile"))).contains("COPY conf/ " + include.group(1));
  }

  /** The ConfigMap's configuration as the service loads it in the pod, from the Deployment's environment. */
  @Test
  void theConfigMapLoadsAsTheServiceLoadsItInThePod(@TempDir Path pod) throws Exception {
    Config config = load(pod);
    assertThat(config.getBoolean("tidemark.cluster.bootstrap")).isTrue();
    assertThat(config.getStringList("akka.cluster.seed-nodes")).isEmpty();
    assertThat(config.getString("akka.management.cluster.bootstrap.contact-point-discovery.discovery-method")).isEqualTo("kubernetes-api");
    assertThat(config.getString("akka.remote.artery.canonical.hostname")).isEqualTo("10.1.2.3");
    assertThat(config.getString("akka.management.http.hostname")).isEqualTo("10.1.2.3");
    assertThat(config.getString("tidemark.mongodb.uri")).isEqualTo("mongodb://secret-from-the-file/");
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.password")).isEqualTo("secret-password");
    assertThat(config.getString("akka-persistence-jdbc.shared-databases.slick.db.driver")).isEqualTo("org.postgresql.Driver");
    assertThat(config.getString("akka.cluster.downing-provider-class")).isEqualTo("akka.cluster.sbr.SplitBrainResolverProvider");
    ClusterJoin.check(config);
    ServiceStreams.Checked checked = ServiceStreams.check(config, getClass().getClassLoader());
    assertThat(checked.names()).containsExactly("orders-table");
  }

  private Config load() throws Exception {
    return load(Files.createTempDirectory("tidemark-pod"));
  }

  /**
   * The ConfigMap's tidemark.conf written to {@code pod}, its include pointed at this checkout's
   * conf/kubernetes.conf, loaded with the container's environment: the pod IP given, each
   * {@code *_FILE} variable naming a file written there.
   */
  private Config load(Path pod) throws Exception {
    String text = (String) map(byKind.get("ConfigMap").get("data")).get("tidemark.conf");
    String local = text.replace("file(\"/app/conf/kubernetes.conf\")", "file(\"" + Path.of("conf", "kubernetes.conf").toAbsolutePath() + "\")");
    assertThat(local).as("the include rewritten").isNotEqualTo(text);
    Path file = Files.writeString(pod.resolve("tidemark.conf"), local);
    Map<String, String> env = new HashMap<>();
    Map<String, String> secrets = Map.of("TIDEMARK_MONGODB_URI_FILE", "mongodb://secret-from-the-file/\n",
        "TIDEMARK_JDBC_PASSWORD_FILE", "secret-password\n");
    environment().forEach((name, value) -> {
      if (value.equals("fieldRef:status.podIP")) {
        env.put(name, "10.1.2.3");
      } else if (name.endsWith("_FILE")) {
        try {
          env.put(name, Files.writeString(pod.resolve(name), secrets.get(name)).toString());
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      } else {
        env.put(name, value);
      }
    });
    return ServiceConfig.load(file, Map.of(), env);
  }

  /** The container's environment: a value, or "fieldRef:PATH" for one from the downward API. */
  private Map<String, String> environment() {
    Map<String, String> env = new LinkedHashMap<>();
    for (Object variable : list(container().get("env"))) {
      Map<String, Object> entry = map(variable);
      if (entry.containsKey("value")) {
        env.put((String) entry.get("name"), (String) entry.get("value"));
      } else {
        Map<String, Object> from = map(entry.get("valueFrom"));
        assertThat(from).as("%s: no credential comes through the environment", entry.get("name")).containsOnlyKeys("fieldRef");
        env.put((String) entry.get("name"), "fieldRef:" + map(from.get("fieldRef")).get("fieldPath"));
      }
    }
    return env;
  }

  private Map<String, Object> podSpec() {
    return map(map(map(byKind.get("Deployment").get("spec")).get("template")).get("spec"));
  }

  private Map<String, Object> container() {
    List<Object> containers = list(podSpec().get("containers"));
    assertThat(containers).hasSize(1);
    return map(containers.get(0));
  }

  private String name(String kind) {
    return (String) map(byKind.get(kind).get("metadata")).get("name");
  }

  private static String volumeOf(Map<String, Map<String, Object>> volumes, String type) {
    List<String> names = volumes.entrySet().stream().filter(volume -> volume.getValue().containsKey(type)).map(Map.Entry::getKey).toList();
    assertThat(names).as("one %s volume", type).hasSize(1);
    return names.get(0);
  }

  private static List<Map<String, Object>> yaml(String text) {
    List<Map<String, Object>> documents = new ArrayList<>();
    for (Object document : new Yaml(new LoaderOptions()).loadAll(text)) {
      if (document != null) documents.add(map(document));
    }
    return documents;
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object value) {
    assertThat(value).isInstanceOf(Map.class);
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  private static List<Object> list(Object value) {
    assertThat(value).isInstanceOf(List.class);
    return (List<Object>) value;
  }

  private static List<String> strings(Object value) {
    return list(value).stream().map(String.class::cast).toList();
  }
}
