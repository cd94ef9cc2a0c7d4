package io.tidemark.source;

import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import akka.actor.typed.Extension;
import akka.actor.typed.ExtensionId;
import com.mongodb.reactivestreams.client.MongoClient;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The oplog samplers of an actor system: one per client and interval, however many streams read
 * through that client. Each sample (the oplog's first and last entries and its fill) is taken
 * once and handed to every stream's {@link OplogMonitor}, which compares it with its own
 * checkpoint; a stream that joins a running sampler gets its latest sample at once.
 */
final class OplogMonitors implements Extension {

  /** Streams that share a client share its samples; the client's identity is the deployment's. */
  private record Key(MongoClient client, Duration interval) {}

  private final ActorSystem<?> system;
  private final Map<Key, Sampler> samplers = new HashMap<>();

  private OplogMonitors(ActorSystem<?> system) {
    this.system = system;
  }

  static OplogMonitors get(ActorSystem<?> system) {
    return Id.INSTANCE.apply(system);
  }

  /** Hands {@code monitor} every sample of {@code client}'s oplog, every {@code interval}, until cancelled. */
  synchronized Cancellable watch(MongoClient client, Duration interval, OplogMonitor monitor) {
    Key key = new Key(client, interval);
    Sampler sampler = samplers.get(key);
    if (sampler == null) {
      sampler = new Sampler(client, interval);
      samplers.put(key, sampler);
    }
    sampler.monitors.add(monitor);
    OplogSample latest = sampler.latest;
    if (latest != null) monitor.accept(latest, null);
    Sampler joined = sampler;
    AtomicBoolean cancelled = new AtomicBoolean();
    return new Cancellable() {
      @Override
      public boolean cancel() {
        if (!cancelled.compareAndSet(false, true)) return false;
        leave(key, joined, monitor);
        return true;
      }

      @Override
      public boolean isCancelled() {
        return cancelled.get();
      }
    };
  }

  /** How many samplers run now. */
  synchronized int samplers() {
    return samplers.size();
  }

  private synchronized void leave(Key key, Sampler sampler, OplogMonitor monitor) {
    sampler.monitors.remove(monitor);
    if (sampler.monitors.isEmpty() && samplers.get(key) == sampler) {
      samplers.remove(key);
      sampler.schedule.cancel();
    }
  }

  /** Samples one client's oplog now and then every interval, for the monitors that watch it. */
  private final class Sampler {
    final MongoClient client;
    final Duration interval;
    final List<OplogMonitor> monitors = new CopyOnWriteArrayList<>();
    final Cancellable schedule;
    volatile OplogSample latest;

    Sampler(MongoClient client, Duration interval) {
      this.client = client;
      this.interval = interval;
      Duration first = interval.compareTo(Duration.ofSeconds(5)) < 0 ? interval : Duration.ofSeconds(5);
      // The reads are asynchronous; waiting for them here keeps one sample at a time per client.
      this.schedule = system.scheduler().scheduleWithFixedDelay(first, interval, this::sample,
          system.dispatchers().lookup(DispatcherSelector.blocking()));
    }

    private void sample() {
      OplogSample sample = null;
      Throwable error = null;
      try {
        sample = OplogMonitor.read(client, null).toCompletableFuture().get(interval.toMillis() + 10_000, TimeUnit.MILLISECONDS);
      } catch (ExecutionException e) {
        error = e.getCause();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      } catch (Exception e) {
        error = e;
      }
      latest = sample;
      for (OplogMonitor monitor : monitors) monitor.accept(sample, error);
    }
  }

  static final class Id extends ExtensionId<OplogMonitors> {
    static final Id INSTANCE = new Id();

    @Override
    public OplogMonitors createExtension(ActorSystem<?> system) {
      return new OplogMonitors(system);
    }
  }
}
