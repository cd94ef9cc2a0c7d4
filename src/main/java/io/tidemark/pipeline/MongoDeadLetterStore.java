package io.tidemark.pipeline;

import akka.Done;
import com.mongodb.client.model.Filters;
import com.mongodb.client.model.Indexes;
import com.mongodb.client.model.Sorts;
import com.mongodb.reactivestreams.client.MongoClient;
import com.mongodb.reactivestreams.client.MongoCollection;
import io.tidemark.connection.MongoConnector;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.bson.Document;
import org.reactivestreams.Subscriber;
import org.reactivestreams.Subscription;

/**
 * Dead letters in a MongoDB collection ({@code tidemark_dead_letters} by default), one document
 * per event: stream, resume token, cluster time, key, operation, the event itself, the error, the
 * attempts and when it failed. Indexed by stream and cluster time.
 */
public final class MongoDeadLetterStore implements DeadLetterStore {
  public static final String DEFAULT_COLLECTION = "tidemark_dead_letters";

  private final MongoCollection<Document> collection;
  private final CompletionStage<?> indexed;

  private MongoDeadLetterStore(MongoCollection<Document> collection) {
    this.collection = collection;
    this.indexed = MongoConnector.first(collection.createIndex(Indexes.ascending("stream", "clusterTime")));
  }

  public static MongoDeadLetterStore create(MongoClient client, String database) {
    return create(client, database, DEFAULT_COLLECTION);
  }

  public static MongoDeadLetterStore create(MongoClient client, String database, String collection) {
    return new MongoDeadLetterStore(client.getDatabase(database).getCollection(collection));
  }

  @Override
  public CompletionStage<Done> record(DeadLetter letter) {
    Document document = new Document("stream", letter.stream())
        .append("resumeToken", letter.resumeToken())
        .append("clusterTime", letter.clusterTime())
        .append("operationType", letter.operationType())
        .append("documentKey", letter.documentKey())
        .append("event", letter.event())
        .append("error", letter.error())
        .append("attempts", letter.attempts())
        .append("failedAt", Date.from(letter.failedAt()));
    return indexed.thenCompose(ready -> MongoConnector.first(collection.insertOne(document)))
        .thenApply(inserted -> Done.getInstance());
  }

  @Override
  public CompletionStage<List<DeadLetter>> list(String stream, int limit) {
    CompletableFuture<List<DeadLetter>> result = new CompletableFuture<>();
    List<DeadLetter> letters = new ArrayList<>();
    collection.find(Filters.eq("stream", stream)).sort(Sorts.ascending("clusterTime", "_id")).limit(limit)
        .subscribe(new Subscriber<Document>() {
          @Override
          public void onSubscribe(Subscription subscription) {
            subscription.request(Long.MAX_VALUE);
          }

          @Override
          public void onNext(Document document) {
            letters.add(decode(document));
          }

          @Override
          public void onError(Throwable error) {
            result.completeExceptionally(error);
          }

          @Override
          public void onComplete() {
            result.complete(letters);
          }
        });
    return result;
  }

  @Override
  public CompletionStage<Long> count(String stream) {
    return MongoConnector.first(collection.countDocuments(Filters.eq("stream", stream)));
  }

  private static DeadLetter decode(Document document) {
    return new DeadLetter(
        document.getString("stream"),
        bson(document.get("resumeToken", Document.class)),
        document.get("clusterTime", BsonTimestamp.class),
        document.getString("operationType"),
        bson(document.get("documentKey", Document.class)),
        bson(document.get("event", Document.class)),
        document.getString("error"),
        document.getInteger("attempts", 1),
        document.getDate("failedAt").toInstant());
  }

  private static BsonDocument bson(Document document) {
    return document == null ? null : document.toBsonDocument();
  }
}
