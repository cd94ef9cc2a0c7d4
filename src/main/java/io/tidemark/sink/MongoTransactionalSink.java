package io.tidemark.sink;

import io.tidemark.StreamMdc;

import akka.Done;
import com.mongodb.MongoException;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.FindOneAndUpdateOptions;
import com.mongodb.client.model.ReturnDocument;
import com.mongodb.client.model.UpdateOptions;
import com.mongodb.client.model.Updates;
import com.mongodb.reactivestreams.client.ClientSession;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.TidemarkException;
import io.tidemark.checkpoint.FencedException;
import io.tidemark.pipeline.EventHandler;
import io.tidemark.source.ChangeEnvelope;
import io.tidemark.connection.MongoConnector;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import org.bson.BsonDocument;
import org.bson.BsonInt64;
import org.bson.BsonString;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Effectively-once writes into MongoDB: each event's writes (made with the session given) and the
 * sink's record of that event commit in one multi-document transaction, so a replayed event is
 * skipped and an event whose transaction did not commit is written when it comes again. The same
 * design as {@link JdbcSink}: a position per stream and documentKey
 * ({@code tidemark_sink_positions}), and a sink epoch per stream ({@code tidemark_sink_epochs}) that
 * fences an older consumer.
 *
 * <p>Transactions need a replica set or a sharded cluster (MongoDB 4.0+; the embedded server runs
 * them too). {@link #create} tries one first and fails with a clear error on a server without them,
 * such as a standalone one: there, use an idempotent write (an upsert by {@code _id} that carries
 * the event's cluster time) instead.
 */
public final class MongoTransactionalSink {
  private static final Logger log = LoggerFactory.getLogger(MongoTransactionalSink.class);
  public static final String POSITIONS = "tidemark_sink_positions";
  public static final String EPOCHS = "tidemark_sink_epochs";
  private static final int TRANSIENT_RETRIES = 5;

  /** The user's writes for one event: every operation must use {@code session}. Do not commit. */
  @FunctionalInterface
  public interface Write {
    CompletionStage<?> write(ClientSession session, ChangeEnvelope event);
  }

  private final MongoClient client;
  private final String stream;
  private final long epoch;
  private final MongoCollection<BsonDocument> positions;
  private final MongoCollection<BsonDocument> epochs;
  private final AtomicLong applied = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final AtomicLong retried = new AtomicLong();

  private MongoTransactionalSink(MongoClient client, String database, String stream, long epoch) {
    this.client = client;
    this.stream = stream;
    this.epoch = epoch;
    this.positions = client.getDatabase(database).getCollection(POSITIONS, BsonDocument.class);
    this.epochs = client.getDatabase(database).getCollection(EPOCHS, BsonDocument.class);
  }

  /**
   * A sink for one stream, its bookkeeping in {@code database}: checks that the server runs
   * transactions, then takes the stream's next sink epoch. Fails with a {@link TidemarkException}
   * that says so when the server has no transactions.
   */
  public static CompletionStage<MongoTransactionalSink> create(MongoClient client, String database, String stream) {
    Objects.requireNonNull(client, "client");
    MongoCollection<BsonDocument> epochs = client.getDatabase(database).getCollection(EPOCHS, BsonDocument.class);
    return probe(client, epochs, stream)
        .thenCompose(ok -> MongoConnector.first(epochs.findOneAndUpdate(
            Filters.eq("_id", stream), Updates.inc("epoch", 1L),
            new FindOneAndUpdateOptions().upsert(true).returnDocument(ReturnDocument.AFTER))))
        .thenApply(document -> {
          long epoch = document.getNumber("epoch").longValue();
          StreamMdc.info(log, stream, "stream '{}': transactional MongoDB sink took epoch {}", stream, epoch);
          return new MongoTransactionalSink(client, database, stream, epoch);
        });
  }

  /** One empty transaction, so that a server without them is found before the first event. */
  private static CompletionStage<Void> probe(MongoClient client, MongoCollection<BsonDocument> epochs, String stream) {
    return MongoConnector.first(client.startSession())
        .thenCompose(session -> {
          session.startTransaction();
          return MongoConnector.first(epochs.find(session, Filters.eq("_id", stream)).first())
              .thenCompose(any -> MongoConnector.first(session.commitTransaction()))
              .whenComplete((done, error) -> session.close());
        })
        .handle((done, error) -> {
          if (error == null) return null;
          Throwable cause = io.tidemark.Errors.unwrap(error);
          throw new TidemarkException("stream '" + stream + "': the transactional MongoDB sink needs multi-document transactions"
              + " (a replica set or sharded cluster, MongoDB 4.0+), and the server refused one ("
              + io.tidemark.Errors.summary(cause) + "); against this server use an idempotent write instead"
              + " (see docs/sinks.md)", cause);
        });
  }

  /** The per-event handler for {@code PipelineBuilder.handle}. */
  public EventHandler handler(Write write) {
    Objects.requireNonNull(write, "write");
    return (name, event) -> {
      if (!name.equals(stream)) {
        return CompletableFuture.failedFuture(new TidemarkException(
            "the MongoDB sink of stream '" + stream + "' was given an event of stream '" + name + "': make one sink per stream"));
      }
      return attempt(write, event, 1);
    };
  }

  public long applied() {
    return applied.get();
  }

  public long skipped() {
    return skipped.get();
  }

  /** Transactions tried again after a TransientTransactionError (a write conflict, a failover). */
  public long retried() {
    return retried.get();
  }

  private CompletionStage<Done> attempt(Write write, ChangeEnvelope event, int attempt) {
    return transaction(write, event).handle((done, error) -> {
      if (error == null) return CompletableFuture.completedFuture(done);
      Throwable cause = io.tidemark.Errors.unwrap(error);
      if (cause instanceof MongoException mongo && mongo.hasErrorLabel(MongoException.TRANSIENT_TRANSACTION_ERROR_LABEL)
          && attempt < TRANSIENT_RETRIES) {
        retried.incrementAndGet();
        return attempt(write, event, attempt + 1);
      }
      return CompletableFuture.<Done>failedFuture(cause);
    }).thenCompose(stage -> stage);
  }

  private CompletionStage<Done> transaction(Write write, ChangeEnvelope event) {
    EventPosition position = EventPosition.of(event);
    BsonDocument id = new BsonDocument("stream", new BsonString(stream)).append("key", new BsonString(EventPosition.keyOf(event)));
    return MongoConnector.first(client.startSession()).thenCompose(session -> {
      session.startTransaction();
      CompletionStage<Done> work = MongoConnector.first(epochs.find(session, Filters.eq("_id", stream)).first())
          .thenCompose(epochDocument -> {
            long current = epochDocument == null ? 0 : epochDocument.getNumber("epoch").longValue();
            if (current != epoch) {
              throw new FencedException("stream '" + stream + "': the MongoDB sink refused a write: another consumer has taken the"
                  + " stream (sink epoch " + current + " is newer than this consumer's " + epoch + ")");
            }
            return MongoConnector.first(positions.find(session, Filters.eq("_id", id)).first());
          })
          .thenCompose(stored -> {
            if (stored != null && position.isAtOrBefore(
                new EventPosition(stored.getInt64("clusterTime").getValue(), stored.getString("token").getValue()))) {
              skipped.incrementAndGet();
              return MongoConnector.first(session.abortTransaction()).thenApply(aborted -> Done.getInstance());
            }
            return write.write(session, event)
                .thenCompose(written -> MongoConnector.first(positions.updateOne(session, Filters.eq("_id", id),
                    Updates.combine(Updates.set("clusterTime", new BsonInt64(position.clusterTime())),
                        Updates.set("token", new BsonString(position.token())), Updates.set("epoch", new BsonInt64(epoch))),
                    new UpdateOptions().upsert(true))))
                .thenCompose(recorded -> commit(session, 1))
                .thenApply(committed -> {
                  applied.incrementAndGet();
                  return Done.getInstance();
                });
          });
      return work.handle((done, error) -> {
        if (error == null) return CompletableFuture.completedFuture(done);
        CompletionStage<?> aborted = session.hasActiveTransaction()
            ? MongoConnector.first(session.abortTransaction()).exceptionally(ignored -> null)
            : CompletableFuture.completedFuture(null);
        return aborted.<Done>thenCompose(a -> CompletableFuture.failedFuture(error));
      }).thenCompose(stage -> stage).whenComplete((done, error) -> session.close());
    });
  }

  /** Commits, retrying a commit whose result is unknown, as the transactions spec says. */
  private CompletionStage<Void> commit(ClientSession session, int attempt) {
    return MongoConnector.first(session.commitTransaction()).handle((done, error) -> {
      if (error == null) return CompletableFuture.<Void>completedFuture(null);
      Throwable cause = io.tidemark.Errors.unwrap(error);
      if (cause instanceof MongoException mongo && mongo.hasErrorLabel(MongoException.UNKNOWN_TRANSACTION_COMMIT_RESULT_LABEL)
          && attempt < TRANSIENT_RETRIES) {
        return commit(session, attempt + 1);
      }
      return CompletableFuture.<Void>failedFuture(cause);
    }).thenCompose(stage -> stage);
  }
}
