package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import akka.actor.testkit.typed.javadsl.ActorTestKit;
import akka.stream.Materializer;
import akka.stream.javadsl.AsPublisher;
import akka.stream.javadsl.Sink;
import akka.stream.javadsl.Source;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * The cursor's events handed from the publisher's threads to one consumer: every event once, in
 * order, never more outstanding than the demand, an end only after the last event, and a clear
 * error for a publisher that sends more than asked.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class CursorQueueTest {
  private final ActorTestKit testKit = ActorTestKit.create();
  private final Materializer materializer = Materializer.matFromSystem(testKit.system());

  @AfterAll
  void shutdown() {
    testKit.shutdownTestKit();
  }

  /** Polls as a stage would: only when woken, until the queue ended; returns what it took. */
  private static <T> List<T> drain(CursorQueue<T> queue, Semaphore wakeUps) throws InterruptedException {
    List<T> taken = new ArrayList<>();
    while (true) {
      assertThat(wakeUps.tryAcquire(10, TimeUnit.SECONDS)).as("woken within 10 s, after " + taken.size()).isTrue();
      queue.woken();
      for (T element = queue.poll(); element != null; element = queue.poll()) taken.add(element);
      if (queue.ended()) return taken;
    }
  }

  @Test
  void everyEventOnceInOrderWithNoMoreOutstandingThanTheDemand() throws Exception {
    int n = 20_000;
    AtomicLong asked = new AtomicLong();
    AtomicLong sent = new AtomicLong();
    AtomicLong mostOutstanding = new AtomicLong();
    Publisher<Integer> inner = Source.range(1, n).async().runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), materializer);
    // Counts what is asked and sent, as the driver's publisher would see it.
    Publisher<Integer> counted = subscriber -> inner.subscribe(new Subscriber<>() {
      @Override
      public void onSubscribe(Subscription s) {
        subscriber.onSubscribe(new Subscription() {
          @Override
          public void request(long more) {
            asked.addAndGet(more);
            s.request(more);
          }

          @Override
          public void cancel() {
            s.cancel();
          }
        });
      }

      @Override
      public void onNext(Integer element) {
        mostOutstanding.accumulateAndGet(asked.get() - sent.get(), Math::max);
        sent.incrementAndGet();
        subscriber.onNext(element);
      }

      @Override
      public void onError(Throwable error) {
        subscriber.onError(error);
      }

      @Override
      public void onComplete() {
        subscriber.onComplete();
      }
    });
    Semaphore wakeUps = new Semaphore(0);
    CursorQueue<Integer> queue = new CursorQueue<>(256, woke -> wakeUps.release());
    counted.subscribe(queue);

    List<Integer> taken = drain(queue, wakeUps);

    assertThat(taken).hasSize(n);
    for (int i = 0; i < n; i++) assertThat(taken.get(i)).isEqualTo(i + 1);
    assertThat(queue.failure()).isNull();
    assertThat(mostOutstanding.get()).as("never more asked and not sent than the demand").isLessThanOrEqualTo(256);
  }

  @Test
  void aFailureEndsTheCursorAfterTheEventsTakenBeforeIt() throws Exception {
    IllegalStateException boom = new IllegalStateException("boom");
    Publisher<Integer> publisher = Source.range(1, 10).concat(Source.<Integer>failed(boom)).async()
        .runWith(Sink.asPublisher(AsPublisher.WITHOUT_FANOUT), materializer);
    Semaphore wakeUps = new Semaphore(0);
    CursorQueue<Integer> queue = new CursorQueue<>(4, woke -> wakeUps.release());
    publisher.subscribe(queue);

    List<Integer> taken = drain(queue, wakeUps);
    assertThat(taken).as("a prefix, in order: what was not taken when the failure came is dropped")
        .isEqualTo(List.of(1, 2, 3, 4, 5, 6, 7, 8, 9, 10).subList(0, taken.size()));
    assertThat(queue.failure()).isSameAs(boom);
    assertThat(queue.poll()).as("nothing after the failure").isNull();
  }

  @Test
  void aPublisherThatSendsMoreThanAskedFailsTheCursorAndIsCancelled() throws Exception {
    AtomicBoolean cancelled = new AtomicBoolean();
    Publisher<Integer> greedy = subscriber -> {
      subscriber.onSubscribe(new Subscription() {
        @Override
        public void request(long n) {}

        @Override
        public void cancel() {
          cancelled.set(true);
        }
      });
      for (int i = 0; i < 20; i++) subscriber.onNext(i);
    };
    Semaphore wakeUps = new Semaphore(0);
    CursorQueue<Integer> queue = new CursorQueue<>(8, woke -> wakeUps.release());
    greedy.subscribe(queue);

    assertThat(drain(queue, wakeUps)).as("at most what fit in the ring").hasSizeLessThanOrEqualTo(8);
    assertThat(queue.failure()).isInstanceOf(IllegalStateException.class).hasMessageContaining("more events than were asked for");
    assertThat(cancelled).isTrue();
  }
}
