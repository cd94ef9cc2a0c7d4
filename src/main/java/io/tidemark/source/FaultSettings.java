package io.tidemark.source;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;
import java.util.Locale;

/**
 * What a stream does about the faults it cannot simply resume from, from
 * {@code tidemark.pipeline.faults} and {@code tidemark.pipeline.heartbeat}. Every policy that
 * moves the position on records a gap in the checkpoint history, logs it and counts it; none is the
 * default: by default a stream stops and says why.
 */
public final class FaultSettings {

  /** After a position is lost (history lost, invalid token). */
  public enum Restart {
    FAIL,
    RESTART_FROM_NOW,
    RESTART_FROM_OLDEST,
    /** Copy the collection again (a fresh snapshot at a fresh operation time), then stream from there. */
    RE_SNAPSHOT
  }

  /** For an event over the size limit. */
  public enum Oversize {
    FAIL,
    SKIP,
    SPLIT
  }

  public final Restart onHistoryLost;
  public final Restart onInvalidToken;
  public final boolean followCollection;
  public final Oversize onOversizeEvent;
  public final boolean heartbeat;
  public final Duration heartbeatInterval;

  private FaultSettings(
      Restart onHistoryLost, Restart onInvalidToken, boolean followCollection, Oversize onOversizeEvent, boolean heartbeat,
      Duration heartbeatInterval) {
    this.onHistoryLost = onHistoryLost;
    this.onInvalidToken = onInvalidToken;
    this.followCollection = followCollection;
    this.onOversizeEvent = onOversizeEvent;
    this.heartbeat = heartbeat;
    this.heartbeatInterval = heartbeatInterval;
  }

  public static FaultSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static FaultSettings create(Config config) {
    String p = "tidemark.pipeline.";
    return new FaultSettings(
        ConfigCheck.oneOf(config, p + "faults.on-history-lost", Restart.class, "fail, restart-from-now, restart-from-oldest or re-snapshot"),
        ConfigCheck.oneOf(config, p + "faults.on-invalid-token", Restart.class, "fail, restart-from-now, restart-from-oldest or re-snapshot"),
        ConfigCheck.flag(config, p + "faults.follow-collection"),
        ConfigCheck.oneOf(config, p + "faults.on-oversize-event", Oversize.class, "fail, skip or split"),
        ConfigCheck.flag(config, p + "heartbeat.enabled"),
        ConfigCheck.positiveDuration(config, p + "heartbeat.interval"));
  }

  public static FaultSettings defaults() {
    return new FaultSettings(Restart.FAIL, Restart.FAIL, false, Oversize.FAIL, true, Duration.ofSeconds(10));
  }

  public FaultSettings onHistoryLost(Restart policy) {
    return new FaultSettings(policy, onInvalidToken, followCollection, onOversizeEvent, heartbeat, heartbeatInterval);
  }

  public FaultSettings onInvalidToken(Restart policy) {
    return new FaultSettings(onHistoryLost, policy, followCollection, onOversizeEvent, heartbeat, heartbeatInterval);
  }

  public FaultSettings followCollection(boolean follow) {
    return new FaultSettings(onHistoryLost, onInvalidToken, follow, onOversizeEvent, heartbeat, heartbeatInterval);
  }

  public FaultSettings onOversizeEvent(Oversize policy) {
    return new FaultSettings(onHistoryLost, onInvalidToken, followCollection, policy, heartbeat, heartbeatInterval);
  }

  public FaultSettings heartbeat(boolean enabled, Duration interval) {
    return new FaultSettings(onHistoryLost, onInvalidToken, followCollection, onOversizeEvent, enabled, interval);
  }

  /** The config spelling of a policy: restart-from-now, skip, ... */
  public static String label(Enum<?> policy) {
    return policy.name().toLowerCase(Locale.ROOT).replace('_', '-');
  }
}
