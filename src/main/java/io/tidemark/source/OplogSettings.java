package io.tidemark.source;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** The oplog monitor, from {@code tidemark.oplog}. */
public final class OplogSettings {
  public final boolean enabled;
  public final Duration interval;
  public final Duration warnWindowBelow;
  public final Duration warnHeadroomBelow;

  private OplogSettings(boolean enabled, Duration interval, Duration warnWindowBelow, Duration warnHeadroomBelow) {
    this.enabled = enabled;
    this.interval = interval;
    this.warnWindowBelow = warnWindowBelow;
    this.warnHeadroomBelow = warnHeadroomBelow;
  }

  public static OplogSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static OplogSettings create(Config config) {
    String p = "tidemark.oplog.";
    return new OplogSettings(
        ConfigCheck.flag(config, p + "monitor"),
        ConfigCheck.positiveDuration(config, p + "interval"),
        ConfigCheck.positiveDuration(config, p + "warn-window-below"),
        ConfigCheck.positiveDuration(config, p + "warn-headroom-below"));
  }

  public OplogSettings withInterval(Duration interval) {
    return new OplogSettings(enabled, interval, warnWindowBelow, warnHeadroomBelow);
  }
}
