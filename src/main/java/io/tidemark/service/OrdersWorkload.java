package io.tidemark.service;

import akka.Done;
import akka.actor.typed.ActorSystem;
import akka.japi.Pair;
import akka.stream.KillSwitches;
import akka.stream.UniqueKillSwitch;
import akka.stream.javadsl.Keep;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.connection.MongoConnector;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.Document;
import org.bson.types.ObjectId;

/**
 * The demo's writer: inserts, updates and deletes orders at a steady rate, one write at a time.
 * Each update raises the order's {@code version}, so the audit can tell a stale view from a
 * current one.
 */
public final class OrdersWorkload {
  private static final int TARGET_LIVE = 2000;
  private static final String[] STATUSES = {"new", "paid", "packed", "shipped", "delivered"};

  private final MongoCollection<Document> orders;
  private final List<ObjectId> live = new ArrayList<>();
  private final Map<ObjectId, Integer> versions = new HashMap<>();
  private final AtomicLong writes = new AtomicLong();

  private OrdersWorkload(MongoCollection<Document> orders) {
    this.orders = orders;
  }

  /** Loads the orders that exist, then writes {@code events} times (0: until stopped) at {@code rate} per second. */
  public static CompletionStage<Pair<OrdersWorkload, Pair<UniqueKillSwitch, CompletionStage<Done>>>> start(
      ActorSystem<?> system, MongoCollection<Document> orders, int rate, long events) {
    OrdersWorkload workload = new OrdersWorkload(orders);
    return workload.loadExisting(system).thenApply(loaded -> Pair.create(workload, workload.run(system, rate, events)));
  }

  private CompletionStage<Done> loadExisting(ActorSystem<?> system) {
    return Source.fromPublisher(orders.find().projection(new Document("version", 1)))
        .runForeach(
            order -> {
              ObjectId id = order.getObjectId("_id");
              live.add(id);
              versions.put(id, order.getInteger("version", 0));
            },
            system);
  }

  private Pair<UniqueKillSwitch, CompletionStage<Done>> run(ActorSystem<?> system, int rate, long events) {
    Source<Integer, ?> ticks = Source.repeat(1).throttle(rate, Duration.ofSeconds(1));
    if (events > 0) ticks = ticks.take(events);
    return ticks
        .viaMat(KillSwitches.single(), Keep.right())
        .mapAsync(1, tick -> writeOne())
        .toMat(Sink.ignore(), Keep.both())
        .run(system);
  }

  private CompletionStage<Object> writeOne() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    double dice = random.nextDouble();
    CompletableFuture<?> write;
    // Inserts outnumber deletes until about TARGET_LIVE orders exist, then they balance out.
    double insertShare = live.size() < TARGET_LIVE ? 0.5 : 0.3;
    if (live.size() < 20 || dice < insertShare) {
      ObjectId id = new ObjectId();
      Document order =
          new Document("_id", id)
              .append("customer", "c-" + random.nextInt(1000))
              .append("status", STATUSES[0])
              .append("amount", random.nextInt(1, 100_000) / 100.0)
              .append("version", 0);
      live.add(id);
      versions.put(id, 0);
      write = MongoConnector.first(orders.insertOne(order));
    } else if (dice < insertShare + 0.4) {
      ObjectId id = live.get(random.nextInt(live.size()));
      int version = versions.merge(id, 1, Integer::sum);
      write =
          MongoConnector.first(
              orders.updateOne(
                  Filters.eq("_id", id),
                  Updates.combine(
                      Updates.set("status", STATUSES[Math.min(version, STATUSES.length - 1)]),
                      Updates.set("amount", random.nextInt(1, 100_000) / 100.0),
                      Updates.set("version", version))));
    } else {
      ObjectId id = live.remove(random.nextInt(live.size()));
      versions.remove(id);
      write = MongoConnector.first(orders.deleteOne(Filters.eq("_id", id)));
    }
    return write.thenApply(result -> {
      writes.incrementAndGet();
      return result;
    });
  }

  /** Acknowledged writes so far. */
  public long writes() {
    return writes.get();
  }
}
