package io.tidemark.embedded.conformance;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Every row of docs/embedded-mongodb.md's table of deliberate differences names a test that exists. */
class DifferencesDocTest {
  private static final Pattern PINNED_BY = Pattern.compile("`(?:(\\w+)\\.)?(\\w+)` \\|\\s*$");

  @Test
  void everyDocumentedDifferenceIsPinnedByATest() throws Exception {
    String doc = Files.readString(Path.of("docs/embedded-mongodb.md"));
    String section = doc.substring(doc.indexOf("## Where it differs from MongoDB on purpose"), doc.indexOf("## Conformance"));
    List<String> missing = new ArrayList<>();
    int rows = 0;
    for (String line : section.split("\n")) {
      if (!line.startsWith("| ") || line.startsWith("| |") || line.startsWith("|---")) continue;
      rows++;
      Matcher matcher = PINNED_BY.matcher(line);
      if (!matcher.find()) {
        missing.add("no test named in: " + line);
        continue;
      }
      String className = matcher.group(1) == null ? "DocumentedDifferencesIT" : matcher.group(1);
      Class<?> type = Class.forName(getClass().getPackageName() + "." + className);
      boolean exists = Arrays.stream(type.getDeclaredMethods()).map(Method::getName).anyMatch(matcher.group(2)::equals);
      if (!exists) missing.add(className + "." + matcher.group(2));
    }
    assertThat(rows).as("rows of the table").isGreaterThanOrEqualTo(5);
    assertThat(missing).as("documented differences without their test").isEmpty();
  }
}
