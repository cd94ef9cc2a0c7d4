package io.tidemark.checkpoint;

import io.tidemark.TidemarkException;
import java.util.regex.Pattern;

/** Stream names key checkpoints and actors, so they are restricted to a safe alphabet. */
public final class StreamNames {
  private StreamNames() {}

  private static final Pattern VALID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  public static String validate(String stream) {
    if (stream == null || !VALID.matcher(stream).matches()) {
      throw new TidemarkException(
          "invalid stream name '" + stream + "': expected 1 to 100 letters, digits, '.', '_' or '-',"
              + " starting with a letter or digit");
    }
    return stream;
  }
}
