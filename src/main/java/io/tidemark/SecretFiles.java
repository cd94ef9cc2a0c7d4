package io.tidemark;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigResolveOptions;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValueFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The environment that a configuration's {@code ${?NAME}} substitutions read, with secret files in
 * the style of Docker secrets: for every {@code TIDEMARK_X_FILE} the environment also holds
 * {@code TIDEMARK_X}, read from the file it names ({@code /run/secrets/...}), without the trailing
 * line break. So {@code TIDEMARK_JDBC_PASSWORD_FILE=/run/secrets/jdbc-password} stands in for
 * {@code TIDEMARK_JDBC_PASSWORD}. A file that is missing, unreadable or empty, or a variable set both
 * ways, fails with a message that names the variable and the file; never with the file's content.
 */
public final class SecretFiles {
  private SecretFiles() {}

  public static final String PREFIX = "TIDEMARK_";
  public static final String SUFFIX = "_FILE";

  /** {@code env} plus the variables read from the secret files that its {@code TIDEMARK_*_FILE} variables name. */
  public static Map<String, String> environment(Map<String, String> env) {
    Map<String, String> result = new TreeMap<>(env);
    for (Map.Entry<String, String> entry : env.entrySet()) {
      String name = entry.getKey();
      if (!name.startsWith(PREFIX) || !name.endsWith(SUFFIX) || name.length() <= PREFIX.length() + SUFFIX.length()) continue;
      String target = name.substring(0, name.length() - SUFFIX.length());
      if (env.containsKey(target)) {
        throw new TidemarkException(
            "both " + target + " and " + name + " are set: expected one of them (" + name + " names a file holding the value)");
      }
      result.put(target, read(name, entry.getValue()));
    }
    return result;
  }

  /** Resolves the configuration's substitutions against itself, then the process environment with its secret files. */
  public static Config resolve(Config unresolved) {
    return resolve(unresolved, System.getenv());
  }

  /** Resolves the configuration's substitutions against itself, then {@code env} with its secret files. */
  public static Config resolve(Config unresolved, Map<String, String> env) {
    Map<String, String> variables = environment(env);
    Config environment = ConfigValueFactory.fromMap(variables, "environment variables").toConfig();
    // Resolved as Config resolves against the system environment: the config's own paths first, then
    // the variables; these are then taken out again, so that no secret lingers under its own name.
    Config resolved = resolveNamingAllMissing(unresolved, environment);
    Set<String> own = unresolved.root().keySet();
    for (String name : variables.keySet()) {
      if (!own.contains(name)) resolved = resolved.withoutPath(ConfigUtil.joinPath(name));
    }
    return resolved;
  }

  private static final Pattern SUBSTITUTION = Pattern.compile("\\$\\{\\??([^}]+)}");
  private static final Pattern VARIABLE = Pattern.compile("[A-Z_][A-Z0-9_]*");

  /**
   * Resolves, and when required substitutions are missing names them all at once, each with where
   * it is required: Config stops at the first, so a start would name one variable at a time. Each
   * one found is stood in for by an empty value, and the resolution tried again.
   */
  private static Config resolveNamingAllMissing(Config unresolved, Config environment) {
    Map<String, String> missing = new TreeMap<>();
    Config standIns = environment;
    while (true) {
      try {
        Config resolved = unresolved.withFallback(standIns).resolve(ConfigResolveOptions.noSystem());
        if (missing.isEmpty()) return resolved;
        throw new TidemarkException(describeMissing(missing));
      } catch (ConfigException.UnresolvedSubstitution e) {
        Matcher substitution = SUBSTITUTION.matcher(String.valueOf(e.getMessage()));
        String name = null;
        while (substitution.find()) name = substitution.group(1);
        if (name == null || missing.containsKey(name)) throw e;
        missing.put(name, e.origin() == null ? "" : e.origin().description());
        standIns = standIns.withValue(name, ConfigValueFactory.fromAnyRef(""));
      }
    }
  }

  private static final Pattern ORIGIN_LINE = Pattern.compile("(.*): (\\d+)");

  private static String describeMissing(Map<String, String> missing) {
    boolean variables = missing.keySet().stream().allMatch(name -> VARIABLE.matcher(name).matches());
    if (missing.size() == 1) {
      String name = missing.keySet().iterator().next();
      String origin = missing.get(name).isEmpty() ? "" : " (" + missing.get(name) + ")";
      return variables
          ? "required environment variable " + name + " is not set" + origin + "; expected it set, or " + name + SUFFIX
              + " naming a file that holds its value"
          : "the substitution ${" + name + "}" + origin + " has no value: expected the setting or environment variable it names";
    }
    String names = namesByFile(missing, variables);
    return variables
        ? missing.size() + " required environment variables are not set: " + names + "; expected each set, or "
            + PREFIX + "X" + SUFFIX + " naming a file that holds the value of " + PREFIX + "X"
        : missing.size() + " substitutions have no value: " + names + "; expected the settings or environment variables they name";
  }

  /** {@code A, B (file: 12, 30), C (other: 4)}: the names, those of one file together with their lines. */
  private static String namesByFile(Map<String, String> missing, boolean variables) {
    Map<String, java.util.List<String[]>> byFile = new java.util.LinkedHashMap<>();
    missing.forEach((name, origin) -> {
      Matcher line = ORIGIN_LINE.matcher(origin);
      String file = line.matches() ? line.group(1) : origin;
      byFile.computeIfAbsent(file, f -> new java.util.ArrayList<>()).add(new String[] {variables ? name : "${" + name + "}", line.matches() ? line.group(2) : ""});
    });
    java.util.List<String> groups = new java.util.ArrayList<>();
    byFile.forEach((file, entries) -> {
      String names = String.join(", ", entries.stream().map(entry -> entry[0]).toList());
      String lines = String.join(", ", entries.stream().map(entry -> entry[1]).filter(l -> !l.isEmpty()).toList());
      groups.add(file.isEmpty() ? names : names + " (" + file + (lines.isEmpty() ? "" : ": " + lines) + ")");
    });
    return String.join(", ", groups);
  }

  private static String read(String variable, String file) {
    String expected = ": expected a readable file holding the value of "
        + variable.substring(0, variable.length() - SUFFIX.length()) + " (such as a Docker secret in /run/secrets)";
    if (file == null || file.isBlank()) throw new TidemarkException(variable + " is empty" + expected);
    Path path = Path.of(file);
    String content;
    try {
      content = Files.readString(path, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new TidemarkException(variable + " names " + file + ", which does not exist" + expected);
    } catch (IOException | RuntimeException e) {
      // An I/O error's message names the file and the reason, never the content.
      throw new TidemarkException(variable + " names " + file + ", which cannot be read (" + e.getClass().getSimpleName()
          + (Files.isDirectory(path) ? ": a directory" : "") + ")" + expected);
    }
    String value = content.endsWith("\r\n") ? content.substring(0, content.length() - 2)
        : content.endsWith("\n") ? content.substring(0, content.length() - 1) : content;
    if (value.isEmpty()) throw new TidemarkException(variable + " names " + file + ", which is empty" + expected);
    return value;
  }
}
