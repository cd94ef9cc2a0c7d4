package io.tidemark.pipeline;

import akka.stream.impl.AtomicTraversalBuilder;
import akka.stream.impl.CompositeTraversalBuilder;
import akka.stream.impl.Concat;
import akka.stream.impl.LinearTraversalBuilder;
import akka.stream.impl.MaterializeAtomic;
import akka.stream.impl.Traversal;
import akka.stream.impl.TraversalBuilder;
import akka.stream.impl.fusing.GraphStageModule;
import akka.stream.impl.fusing.MapAsyncUnordered;
import akka.stream.javadsl.Flow;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Refuses, when a stage is added with {@code via(...)}, the Akka operators known to break the
 * one-element-per-element rule, naming the operator and the builder operator to use instead. It
 * reads the operators out of the flow's blueprint (Akka 2.6's internal traversal, which this
 * project pins); an operator it does not know is left to {@link OneToOneGuard}, which checks
 * every element at run time.
 */
final class OneToOneOperators {
  private OneToOneOperators() {}

  private static final String FILTER = "drops elements: use filter(...) on the pipeline builder";
  private static final String FAN_OUT = "emits several elements for one: use mapConcat(...) on the pipeline builder";
  private static final String BATCH = "joins elements: use grouped(n, within) on the pipeline builder";
  private static final String ADDS = "adds elements of its own";
  private static final String ENDS = "ends the stream or drops elements: use filter(...) on the pipeline builder";

  /** Akka's operator classes (simple names) that never keep one element per element. */
  private static final Map<String, String> REFUSED = Map.ofEntries(
      Map.entry("Collect", FILTER),
      Map.entry("Filter", FILTER),
      Map.entry("StatefulMapConcat", FAN_OUT),
      Map.entry("FlattenMerge", FAN_OUT),
      Map.entry("GroupedWeighted", BATCH),
      Map.entry("GroupedWeightedWithin", BATCH),
      Map.entry("Sliding", BATCH),
      Map.entry("Batch", BATCH),
      Map.entry("Fold", BATCH),
      Map.entry("FoldAsync", BATCH),
      Map.entry("Reduce", BATCH),
      Map.entry("Take", ENDS),
      Map.entry("Drop", ENDS),
      Map.entry("TakeWhile", ENDS),
      Map.entry("DropWhile", ENDS),
      Map.entry("LimitWeighted", ENDS),
      Map.entry("Scan", ADDS),
      Map.entry("ScanAsync", ADDS),
      Map.entry("Intersperse", ADDS),
      Map.entry("Expand", ADDS),
      Map.entry("Recover", ADDS),
      Map.entry("RecoverWith", ADDS));

  /** Throws a {@link StageContractException} naming each refused operator in the flow. */
  static void check(String stage, Flow<?, ?, ?> flow) {
    Set<String> problems = new LinkedHashSet<>();
    try {
      visit(flow.asScala().traversalBuilder(), problems);
    } catch (RuntimeException | LinkageError e) {
      return; // the blueprint is not of a known shape: the run-time guard still checks every element
    }
    if (!problems.isEmpty()) {
      throw new StageContractException(stage + " cannot be added with via(...), which takes stages that emit exactly one"
          + " element per element, in order: " + String.join("; ", problems));
    }
  }

  private static void visit(TraversalBuilder builder, Set<String> problems) {
    if (builder instanceof LinearTraversalBuilder linear) {
      visit(linear.beforeBuilder(), problems);
      visit(linear.traversalSoFar(), problems);
      if (linear.pendingBuilder() != null) visit(linear.pendingBuilder(), problems);
    } else if (builder instanceof AtomicTraversalBuilder atomic) {
      module(atomic.module(), problems);
    } else if (builder instanceof CompositeTraversalBuilder composite) {
      visit(composite.finalSteps(), problems);
      List<TraversalBuilder> pending = new ArrayList<>();
      composite.pendingBuilders().valuesIterator().foreach(pending::add);
      for (TraversalBuilder b : pending) visit(b, problems);
    }
  }

  private static void visit(Traversal traversal, Set<String> problems) {
    // Concat chains are long and nest to the right: walk them in a loop, not by recursion alone.
    Traversal next = traversal;
    while (next != null) {
      if (next instanceof Concat concat) {
        visit(concat.first(), problems);
        next = concat.next();
      } else {
        if (next instanceof MaterializeAtomic atomic) module(atomic.module(), problems);
        next = null;
      }
    }
  }

  private static void module(Object module, Set<String> problems) {
    if (!(module instanceof GraphStageModule<?, ?> graphStage)) return;
    Object stage = graphStage.stage();
    String name = stage.getClass().getSimpleName();
    if (stage instanceof MapAsyncUnordered<?, ?> unordered) {
      if (unordered.parallelism() > 1) {
        problems.add("mapAsyncUnordered(" + unordered.parallelism() + ") emits in another order: use mapAsync(...)");
      }
      return;
    }
    String why = REFUSED.get(name);
    if (why != null) problems.add(operatorName(name) + " " + why);
    if ("Buffer".equals(name) && !stage.toString().contains("Backpressure")) problems.add("a buffer that drops elements " + FILTER);
  }

  private static String operatorName(String className) {
    return switch (className) {
      case "Collect" -> "filter/collect";
      case "StatefulMapConcat" -> "mapConcat";
      case "FlattenMerge" -> "flatMapConcat/flatMapMerge";
      case "GroupedWeighted" -> "grouped";
      case "GroupedWeightedWithin" -> "groupedWithin";
      case "LimitWeighted" -> "limit";
      default -> Character.toLowerCase(className.charAt(0)) + className.substring(1);
    };
  }
}
