package io.tidemark.service;

import com.typesafe.config.Config;
import com.typesafe.config.ConfigException;
import com.typesafe.config.ConfigFactory;
import com.typesafe.config.ConfigParseOptions;
import io.tidemark.ConfigCheck;
import io.tidemark.Errors;
import io.tidemark.SecretFiles;
import io.tidemark.TidemarkException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * The configuration of the runnable service: {@code CONFIG_FORCE_*} environment variables (Typesafe
 * Config's {@code systemEnvironmentOverrides()}: {@code CONFIG_FORCE_tidemark_pipeline_window__size=500}
 * sets {@code tidemark.pipeline.window-size}), then system properties, then the command line's options,
 * then {@code --config FILE}, then the runnable defaults ({@code conf/application.conf}, packaged
 * in the jar), then the libraries' {@code reference.conf}; {@code ${?NAME}} substitutions read the
 * environment, where {@code TIDEMARK_X_FILE} stands in for {@code TIDEMARK_X} ({@link SecretFiles}).
 * Unknown {@code tidemark.*} keys, malformed files, and a configuration dump to the log (it would
 * carry the credentials) are refused with the key or file named.
 */
public final class ServiceConfig {
  private ServiceConfig() {}

  public static final String APPLICATION_CONF = "tidemark/conf/application.conf";
  private static final String LOG_CONFIG = "akka.log-config-on-start";

  public static Config load(Path configFile, Map<String, Object> options) {
    return load(configFile, options, System.getenv());
  }

  /** The same, with {@code env} for the {@code ${?NAME}} substitutions (its {@code TIDEMARK_*_FILE} secret files read). */
  public static Config load(Path configFile, Map<String, Object> options, Map<String, String> env) {
    return load(configFile, options, env, ConfigFactory.empty());
  }

  /**
   * The same, with {@code defaults} between {@code --config FILE} and the runnable defaults: the
   * file overrides them, and their substitutions see every layer (the demo's stream, {@link DemoStream}).
   */
  public static Config load(Path configFile, Map<String, Object> options, Map<String, String> env, Config defaults) {
    Config file = ConfigFactory.empty();
    if (configFile != null) {
      if (!Files.isRegularFile(configFile)) {
        throw new TidemarkException("config file " + configFile + " does not exist: expected a HOCON file such as conf/application.conf");
      }
      file = parse(() -> ConfigFactory.parseFile(configFile.toFile(), ConfigParseOptions.defaults().setAllowMissing(false)));
    }
    Config application = parse(() -> ConfigFactory.parseResources(APPLICATION_CONF));
    Config fromFile = file;
    Config merged =
        parse(() -> ConfigFactory.systemEnvironmentOverrides()
            .withFallback(ConfigFactory.systemProperties())
            .withFallback(ConfigFactory.parseMap(options, "command line"))
            .withFallback(fromFile)
            .withFallback(defaults)
            .withFallback(application)
            .withFallback(ConfigFactory.defaultReference()));
    Config resolved = parse(() -> SecretFiles.resolve(merged, env));
    if (resolved.hasPath(LOG_CONFIG) && resolved.getBoolean(LOG_CONFIG)) {
      throw new TidemarkException(
          LOG_CONFIG + " = on would write the whole configuration to the log, the MongoDB URI and the database"
              + " password with it: expected off (credentials are never logged)");
    }
    return ConfigCheck.validated(resolved);
  }

  private interface Parse {
    Config parse();
  }

  private static Config parse(Parse parse) {
    try {
      return parse.parse();
    } catch (ConfigException e) {
      throw new TidemarkException("configuration error: " + Errors.oneLine(e.getMessage()));
    }
  }
}
