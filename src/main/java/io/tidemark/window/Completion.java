package io.tidemark.window;

/**
 * What the lanes of user stages tell the window: an event is done (it and everything it was
 * turned into has left the stages), or a lane failed. A failed lane stops the run: the window
 * admits nothing more, lets every lane finish what it holds, saves the safe token, then fails.
 */
@akka.annotation.InternalApi
public final class Completion {
  private final long seqNr;
  private final Throwable failure;

  private Completion(long seqNr, Throwable failure) {
    this.seqNr = seqNr;
    this.failure = failure;
  }

  /** Event #{@code seqNr} is done. */
  public static Completion done(long seqNr) {
    return new Completion(seqNr, null);
  }

  /** A stage failed on event #{@code seqNr}: it is not done, and the run must stop. */
  public static Completion failed(long seqNr, Throwable failure) {
    return new Completion(seqNr, java.util.Objects.requireNonNull(failure, "failure"));
  }

  public long seqNr() {
    return seqNr;
  }

  /** Why the lane failed; null when the event is done. */
  public Throwable failure() {
    return failure;
  }

  public boolean isFailure() {
    return failure != null;
  }

  @Override
  public String toString() {
    return failure == null ? "done(#" + seqNr + ")" : "failed(#" + seqNr + ": " + failure + ")";
  }
}
