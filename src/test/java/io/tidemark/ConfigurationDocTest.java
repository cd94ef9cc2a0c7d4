package io.tidemark;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.ConfigFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** docs/configuration.md and reference.conf cannot drift apart. */
class ConfigurationDocTest {
  @Test
  void everyKeyIsDocumentedAndEveryDocumentedKeyExists() throws Exception {
    Set<String> defined = ConfigFactory.parseResources("reference.conf").getConfig("tidemark").entrySet().stream()
        .map(entry -> "tidemark." + entry.getKey())
        .collect(Collectors.toCollection(TreeSet::new));
    Set<String> documented = new TreeSet<>();
    Matcher row = Pattern.compile("^\\| `(tidemark\\.[a-z.-]+)` \\|", Pattern.MULTILINE)
        .matcher(Files.readString(Path.of("docs/configuration.md")));
    while (row.find()) documented.add(row.group(1));
    assertThat(documented).isEqualTo(defined);
  }
}
