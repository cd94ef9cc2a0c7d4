package io.tidemark.connection;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Where MongoDB is and how long to wait for it, from {@code tidemark.mongodb}. */
public final class MongoSettings {
  public final String uri;
  public final Duration connectTimeout;
  /** How long a process's start waits for MongoDB to come up ({@link MongoConnector#awaitStarted}); zero: not at all. */
  public final Duration startTimeout;

  private MongoSettings(String uri, Duration connectTimeout, Duration startTimeout) {
    this.uri = uri;
    this.connectTimeout = connectTimeout;
    this.startTimeout = startTimeout;
  }

  /**
   * How long a start waits for the embedded MongoDB of its own process to answer: the start timeout,
   * or the connect timeout when that is longer (or the start timeout is zero).
   */
  public Duration startWait() {
    return startTimeout.compareTo(connectTimeout) > 0 ? startTimeout : connectTimeout;
  }

  public static MongoSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static MongoSettings create(Config config) {
    String uri = ConfigCheck.nonEmptyString(config, "tidemark.mongodb.uri");
    MongoConnector.parse(uri);
    return new MongoSettings(uri, ConfigCheck.positiveDuration(config, "tidemark.mongodb.connect-timeout"),
        ConfigCheck.nonNegativeDuration(config, "tidemark.mongodb.start-timeout"));
  }

  @Override
  public String toString() {
    return "MongoSettings(" + MongoConnector.redact(uri) + ", connect-timeout " + connectTimeout + ", start-timeout " + startTimeout + ")";
  }
}
