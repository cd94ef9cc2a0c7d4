package io.tidemark.connection;

import com.mongodb.RequestContext;
import com.mongodb.reactivestreams.client.ReactiveContextProvider;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Stream;
import org.reactivestreams.Publisher;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.util.context.Context;
import reactor.util.context.ContextView;

/**
 * Which stream a command runs for, where several streams share one client: a publisher tagged
 * with {@link #forStream} runs its commands — and its cursor's getMores, kills and the driver's own
 * resumes — with a request context that names the stream, which the client's
 * {@link CommandFailures} listener reads back from the failed command's event. The tag travels in
 * Reactor's subscriber context, which the reactive driver hands to its context provider. An
 * untagged command belongs to no stream.
 */
@akka.annotation.InternalApi
public final class CommandTags {
  private CommandTags() {}

  private static final String STREAM = "tidemark.stream";

  /** The publisher, whose commands are counted for {@code stream}. */
  public static <T> Publisher<T> forStream(String stream, Publisher<T> publisher) {
    return Flux.from(publisher).contextWrite(Context.of(STREAM, stream));
  }

  /** The stream a command ran for, or null when it was not tagged. */
  static String streamOf(RequestContext context) {
    return context == null ? null : context.getOrDefault(STREAM, null);
  }

  /** What the reactive clients of {@link MongoConnector} are configured with. */
  static final ReactiveContextProvider PROVIDER = subscriber -> {
    if (!(subscriber instanceof CoreSubscriber<?> core)) return null;
    ContextView context = core.currentContext();
    return context.hasKey(STREAM) ? new StreamContext(context.get(STREAM)) : null;
  };

  /** The driver's request context of a tagged command. */
  private static final class StreamContext implements RequestContext {
    private final Map<Object, Object> entries = new ConcurrentHashMap<>();

    StreamContext(String stream) {
      entries.put(STREAM, stream);
    }

    @Override
    @SuppressWarnings("unchecked")
    public <T> T get(Object key) {
      return (T) entries.get(key);
    }

    @Override
    public boolean hasKey(Object key) {
      return entries.containsKey(key);
    }

    @Override
    public boolean isEmpty() {
      return entries.isEmpty();
    }

    @Override
    public void put(Object key, Object value) {
      entries.put(key, value);
    }

    @Override
    public void delete(Object key) {
      entries.remove(key);
    }

    @Override
    public int size() {
      return entries.size();
    }

    @Override
    public Stream<Map.Entry<Object, Object>> stream() {
      return entries.entrySet().stream();
    }
  }
}
