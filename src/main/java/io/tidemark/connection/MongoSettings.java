package io.tidemark.connection;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** Where MongoDB is and how long to wait for it, from {@code tidemark.mongodb}. */
public final class MongoSettings {
  public final String uri;
  public final Duration connectTimeout;

  private MongoSettings(String uri, Duration connectTimeout) {
    this.uri = uri;
    this.connectTimeout = connectTimeout;
  }

  public static MongoSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static MongoSettings create(Config config) {
    String uri = ConfigCheck.nonEmptyString(config, "tidemark.mongodb.uri");
    MongoConnector.parse(uri);
    return new MongoSettings(uri, ConfigCheck.positiveDuration(config, "tidemark.mongodb.connect-timeout"));
  }

  @Override
  public String toString() {
    return "MongoSettings(" + MongoConnector.redact(uri) + ", connect-timeout " + connectTimeout + ")";
  }
}
