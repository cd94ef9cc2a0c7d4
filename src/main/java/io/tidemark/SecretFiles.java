package io.tidemark;

import com.typesafe.config.Config;
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
    Config resolved = unresolved.withFallback(environment).resolve(ConfigResolveOptions.noSystem());
    Set<String> own = unresolved.root().keySet();
    for (String name : variables.keySet()) {
      if (!own.contains(name)) resolved = resolved.withoutPath(ConfigUtil.joinPath(name));
    }
    return resolved;
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
