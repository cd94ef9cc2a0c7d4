package io.tidemark.window;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.tidemark.source.Envelopes;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class InFlightWindowTest {

  @Test
  void safePositionIsTheLongestRunOfCompletedEventsForAnyCompletionOrder() {
    for (int seed = 0; seed < 500; seed++) {
      Random random = new Random(seed);
      int capacity = 1 + random.nextInt(40);
      InFlightWindow window = new InFlightWindow(capacity);
      boolean[] done = new boolean[10_000];
      List<Long> pending = new ArrayList<>();
      long next = 1;
      int steps = 400;
      for (int step = 0; step < steps; step++) {
        boolean admit = window.hasRoom() && (pending.isEmpty() || random.nextBoolean());
        if (admit) {
          window.admit(Envelopes.insert(next));
          pending.add(next++);
        } else if (!pending.isEmpty()) {
          Collections.shuffle(pending, random);
          long seqNr = pending.remove(pending.size() - 1);
          done[(int) seqNr] = true;
          window.complete(seqNr);
        }
        long expectedSafe = 0;
        while (expectedSafe + 1 < next && done[(int) expectedSafe + 1]) expectedSafe++;
        assertThat(window.safeSeq()).as("seed %d step %d", seed, step).isEqualTo(expectedSafe);
        assertThat(window.inFlight()).isLessThanOrEqualTo(capacity);
        if (expectedSafe > 0) assertThat(window.safe().seqNr()).isEqualTo(expectedSafe);
      }
    }
  }

  @Test
  void refusesGapsAndOverflow() {
    InFlightWindow window = new InFlightWindow(2);
    assertThatThrownBy(() -> window.admit(Envelopes.insert(2))).hasMessageContaining("no gaps");
    window.admit(Envelopes.insert(1));
    window.admit(Envelopes.insert(2));
    assertThat(window.hasRoom()).isFalse();
    assertThatThrownBy(() -> window.admit(Envelopes.insert(3))).hasMessageContaining("window full");
    assertThat(window.complete(2)).isNotNull();
    assertThat(window.complete(2)).isNull();
    assertThat(window.safeSeq()).isZero();
    assertThat(window.snapshot()).extracting(InFlightEvent::completed).containsExactly(false, true);
  }
}
