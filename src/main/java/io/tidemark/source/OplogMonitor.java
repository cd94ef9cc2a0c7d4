package io.tidemark.source;

import io.tidemark.StreamMdc;

import io.tidemark.connection.MongoConnector;

import akka.actor.Cancellable;
import akka.actor.typed.ActorSystem;
import com.mongodb.client.model.Projections;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.Errors;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Watches the oplog a stream depends on: its first and last entries (two reads of one entry each,
 * by natural order), how full it is where the server says, and the stream's <em>headroom</em> —
 * the oplog time between the oldest entry and the stream's checkpoint, which is how long the
 * checkpoint has before it falls off at the current write rate. Warns (once per crossing) when the
 * window of a full oplog is below {@code warn-window-below}, or the headroom below
 * {@code warn-headroom-below}.
 */
@akka.annotation.InternalApi
public final class OplogMonitor {
  private static final Logger log = LoggerFactory.getLogger(OplogMonitor.class);

  private final String stream;
  private final MongoClient client;
  private final OplogSettings settings;
  private final Supplier<BsonTimestamp> checkpointTime;
  private final Consumer<OplogSample> onSample;
  private boolean windowWarned;
  private boolean headroomWarned;
  private boolean unreadableWarned;

  public OplogMonitor(String stream, MongoClient client, OplogSettings settings, Supplier<BsonTimestamp> checkpointTime,
      Consumer<OplogSample> onSample) {
    this.stream = stream;
    this.client = client;
    this.settings = settings;
    this.checkpointTime = checkpointTime;
    this.onSample = onSample;
  }

  /**
   * Samples now and then every interval, until cancelled. The streams that read through the same
   * client share one sampler ({@link OplogMonitors}): each sample is read once, however many
   * streams there are, and compared with each stream's own checkpoint.
   */
  public Cancellable start(ActorSystem<?> system) {
    return OplogMonitors.get(system).watch(client, settings.interval, this);
  }

  /** One sample of this stream's own: reads the oplog, records and checks it. */
  public CompletionStage<OplogSample> sample() {
    return read(client, null).handle(this::accept);
  }

  /**
   * Takes a sample of the deployment's oplog (or the error reading it), with this stream's
   * checkpoint: records and checks it. Null when there is none.
   */
  synchronized OplogSample accept(OplogSample deployment, Throwable error) {
    if (error != null) {
      if (Errors.unwrap(error) instanceof EmptyOplogException) {
        StreamMdc.debug(log, stream, "stream '{}': local.oplog.rs holds no entries yet: no oplog window or headroom until the first write", stream);
        return null;
      }
      if (!unreadableWarned) {
        unreadableWarned = true;
        StreamMdc.warn(log, stream, "stream '{}': cannot read local.oplog.rs ({}): no oplog window or headroom; grant the read role on the local"
            + " database (clusterMonitor) to see them", stream, Errors.summary(Errors.unwrap(error)));
      }
      return null;
    }
    unreadableWarned = false;
    OplogSample sample = deployment.withCheckpoint(checkpointTime.get());
    onSample.accept(sample);
    check(sample);
    return sample;
  }

  /** Reads the oplog's bounds and fullness, with the headroom of a checkpoint at {@code checkpoint} (null: none). */
  public static CompletionStage<OplogSample> read(MongoClient client, BsonTimestamp checkpoint) {
    MongoCollection<BsonDocument> oplog = client.getDatabase("local").getCollection("oplog.rs", BsonDocument.class);
    CompletableFuture<BsonDocument> first = MongoConnector.first(
        oplog.find().sort(Sorts.ascending("$natural")).projection(Projections.include("ts")).limit(1));
    CompletableFuture<BsonDocument> last = MongoConnector.first(
        oplog.find().sort(Sorts.descending("$natural")).projection(Projections.include("ts")).limit(1));
    CompletableFuture<Document> stats = MongoConnector.first(client.getDatabase("local").runCommand(new Document("collStats", "oplog.rs")))
        .exceptionally(error -> null);
    return first.thenCombine(last, (oldest, newest) -> new BsonDocument[] {oldest, newest})
        .thenCombine(stats, (bounds, collStats) -> {
          if (bounds[0] == null || bounds[1] == null) {
            if (collStats != null && Boolean.TRUE.equals(collStats.get("capped"))) throw new EmptyOplogException();
            throw new IllegalStateException("local.oplog.rs is missing: the server is not a replica set member");
          }
          return new OplogSample(Instant.now(), bounds[0].getTimestamp("ts"), bounds[1].getTimestamp("ts"), usage(collStats),
              checkpoint);
        });
  }

  /** The oplog exists (a capped collection) and holds no entry yet: a fresh server, nothing to warn about. */
  static final class EmptyOplogException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    EmptyOplogException() {
      super("local.oplog.rs holds no entries yet");
    }
  }

  /** How full the capped collection is: size / maxSize, or count / max, whichever cap is nearer (both may be set); else null. */
  static Double usage(Document stats) {
    if (stats == null) return null;
    Double usage = null;
    double size = number(stats.get("size"));
    double maxSize = number(stats.get("maxSize"));
    if (size >= 0 && maxSize > 0) usage = size / maxSize;
    double count = number(stats.get("count"));
    double max = number(stats.get("max"));
    if (count >= 0 && max > 0) usage = usage == null ? count / max : Math.max(usage, count / max);
    return usage;
  }

  private static double number(Object value) {
    return value instanceof Number n ? n.doubleValue() : -1;
  }

  private void check(OplogSample sample) {
    boolean full = sample.usage() == null || sample.usage() >= 0.95;
    boolean shortWindow = full && sample.windowSeconds() < settings.warnWindowBelow.toSeconds();
    if (shortWindow && !windowWarned) {
      StreamMdc.warn(log, stream, "stream '{}': the oplog window is {} (below tidemark.oplog.warn-window-below = {}): a consumer stopped longer"
              + " than that loses its place; enlarge the oplog (replSetResizeOplog) or keep consumers running. Checkpoint at"
              + " least every {}", stream, human(sample.windowSeconds()), human(settings.warnWindowBelow.toSeconds()),
          human(sample.recommendedCheckpointIntervalSeconds()));
    } else if (!shortWindow && windowWarned) {
      StreamMdc.info(log, stream, "stream '{}': the oplog window is {} again", stream, human(sample.windowSeconds()));
    }
    windowWarned = shortWindow;
    Long headroom = sample.headroomSeconds();
    boolean lowHeadroom = headroom != null && full && headroom < settings.warnHeadroomBelow.toSeconds();
    if (lowHeadroom && !headroomWarned) {
      StreamMdc.warn(log, stream, "stream '{}': its checkpoint is {} from falling off the oplog (headroom below tidemark.oplog.warn-headroom-below"
          + " = {}); when it does, the stream can only go on under on-history-lost", stream,
          headroom < 0 ? "already past" : human(headroom), human(settings.warnHeadroomBelow.toSeconds()));
    } else if (!lowHeadroom && headroomWarned) {
      StreamMdc.info(log, stream, "stream '{}': headroom {} again", stream, human(headroom == null ? 0 : headroom));
    }
    headroomWarned = lowHeadroom;
  }

  /** 90061 -> "1d 1h 1m 1s"; only the two largest units. */
  public static String human(long seconds) {
    if (seconds < 0) return "-" + human(-seconds);
    long[] units = {86_400, 3_600, 60, 1};
    String[] names = {"d", "h", "m", "s"};
    StringBuilder text = new StringBuilder();
    int shown = 0;
    for (int i = 0; i < units.length && shown < 2; i++) {
      long value = seconds / units[i];
      seconds %= units[i];
      if (value > 0 || (i == units.length - 1 && text.isEmpty())) {
        if (!text.isEmpty()) text.append(' ');
        text.append(value).append(names[i]);
        shown++;
      } else if (shown > 0) {
        shown++;
      }
    }
    return text.toString();
  }
}
