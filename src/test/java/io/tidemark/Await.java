package io.tidemark;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition to hold, polling; fails with a description of what did not happen. */
public final class Await {
  private Await() {}

  /**
   * How the stage failed (without the future wrappers), or null when it succeeded; waits up to
   * 60 s (generous: on a loaded machine a fenced Kafka consumer took more than 20 s to stop).
   */
  public static Throwable failureOf(java.util.concurrent.CompletionStage<?> stage) {
    try {
      stage.toCompletableFuture().get(60, java.util.concurrent.TimeUnit.SECONDS);
      return null;
    } catch (Exception e) {
      return Errors.unwrap(e);
    }
  }

  /**
   * Waits for a condition at most {@code timeout}, and says whether it came: for a chance given to
   * something that must not happen (a defect showing itself), where not coming is the good outcome.
   */
  public static boolean atMost(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) return false;
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
    return true;
  }

  public static void until(Duration timeout, BooleanSupplier condition, Supplier<String> whatWasExpected) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("timed out after " + timeout.toSeconds() + "s waiting for: " + whatWasExpected.get());
      }
      LockSupport.parkNanos(Duration.ofMillis(20).toNanos());
    }
  }
}
