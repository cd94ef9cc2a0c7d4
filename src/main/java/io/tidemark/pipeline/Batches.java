package io.tidemark.pipeline;

import akka.NotUsed;
import akka.japi.Pair;
import akka.stream.javadsl.Flow;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The builder's {@code grouped(n, within)}: up to n elements, or what arrived within the given
 * time, as one list. A batch carries the context of its last element, so that it completes every
 * event it holds (and the event of its last element only when that element was the event's last).
 * Skips inside a batch are done with it; an abandoned or failed element ends the batch before it
 * and passes on alone. The time bound keeps a quiet stream's last events from waiting forever.
 */
final class Batches {
  private Batches() {}

  static Flow<Pair<Object, EventContext>, Pair<Object, EventContext>, NotUsed> grouped(int size, Duration within) {
    return Flow.<Pair<Object, EventContext>>create().groupedWithin(size, within).mapConcat(Batches::merge);
  }

  static List<Pair<Object, EventContext>> merge(List<Pair<Object, EventContext>> group) {
    List<Pair<Object, EventContext>> out = new ArrayList<>(1);
    List<Object> values = new ArrayList<>(group.size());
    EventContext last = null;
    for (Pair<Object, EventContext> element : group) {
      EventContext context = element.second();
      switch (context.kind()) {
        case VALUE -> {
          values.add(element.first());
          last = context;
        }
        case SKIPPED -> last = context;
        default -> {
          if (last != null) out.add(batch(values, last));
          values = new ArrayList<>();
          last = null;
          out.add(element);
        }
      }
    }
    if (last != null) out.add(batch(values, last));
    return out;
  }

  private static Pair<Object, EventContext> batch(List<Object> values, EventContext last) {
    return values.isEmpty() ? Pair.create(null, last.skipped()) : Pair.create(java.util.Collections.unmodifiableList(values), last.asValue());
  }
}
