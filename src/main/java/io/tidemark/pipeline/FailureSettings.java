package io.tidemark.pipeline;

import akka.actor.typed.ActorSystem;
import com.typesafe.config.Config;
import io.tidemark.ConfigCheck;
import java.time.Duration;

/** The failing-stage policy and its timings, from {@code tidemark.pipeline.on-failure}. */
public final class FailureSettings {
  public final FailurePolicy policy;
  public final Duration restartMinBackoff;
  public final Duration restartMaxBackoff;
  public final int maxRestarts;
  public final int deadLetterAttempts;
  public final Duration deadLetterBackoff;

  private FailureSettings(
      FailurePolicy policy, Duration restartMinBackoff, Duration restartMaxBackoff, int maxRestarts,
      int deadLetterAttempts, Duration deadLetterBackoff) {
    this.policy = policy;
    this.restartMinBackoff = restartMinBackoff;
    this.restartMaxBackoff = restartMaxBackoff;
    this.maxRestarts = maxRestarts;
    this.deadLetterAttempts = deadLetterAttempts;
    this.deadLetterBackoff = deadLetterBackoff;
  }

  public static FailureSettings create(ActorSystem<?> system) {
    return create(system.settings().config());
  }

  public static FailureSettings create(Config config) {
    String p = "tidemark.pipeline.on-failure.";
    return new FailureSettings(
        ConfigCheck.oneOf(config, p + "policy", FailurePolicy.class, "retry, dead-letter or stop"),
        ConfigCheck.positiveDuration(config, p + "restart-min-backoff"),
        ConfigCheck.positiveDuration(config, p + "restart-max-backoff"),
        ConfigCheck.nonNegativeInt(config, p + "max-restarts"),
        ConfigCheck.positiveInt(config, p + "dead-letter.attempts"),
        ConfigCheck.positiveDuration(config, p + "dead-letter.backoff"));
  }

  public static FailureSettings of(FailurePolicy policy) {
    return new FailureSettings(policy, Duration.ofMillis(500), Duration.ofSeconds(30), 0, 3, Duration.ofMillis(200));
  }

  public FailureSettings withRestartBackoff(Duration min, Duration max) {
    return new FailureSettings(policy, min, max, maxRestarts, deadLetterAttempts, deadLetterBackoff);
  }

  public FailureSettings withMaxRestarts(int restarts) {
    return new FailureSettings(policy, restartMinBackoff, restartMaxBackoff, restarts, deadLetterAttempts, deadLetterBackoff);
  }

  public FailureSettings withDeadLetterAttempts(int attempts, Duration backoff) {
    return new FailureSettings(policy, restartMinBackoff, restartMaxBackoff, maxRestarts, attempts, backoff);
  }

  /** Backoff before restart number {@code restart} (1-based), doubling up to the maximum. */
  Duration restartBackoff(int restart) {
    Duration backoff = restartMinBackoff;
    for (int i = 1; i < restart && backoff.compareTo(restartMaxBackoff) < 0; i++) backoff = backoff.multipliedBy(2);
    return backoff.compareTo(restartMaxBackoff) > 0 ? restartMaxBackoff : backoff;
  }
}
