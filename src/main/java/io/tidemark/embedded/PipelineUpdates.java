package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoCollection;
import de.bwaldvogel.mongo.MongoDatabase;
import de.bwaldvogel.mongo.backend.ArrayFilters;
import de.bwaldvogel.mongo.backend.Cursor;
import de.bwaldvogel.mongo.backend.DatabaseResolver;
import de.bwaldvogel.mongo.backend.aggregation.Aggregation;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.exception.MongoServerError;
import de.bwaldvogel.mongo.oplog.NoopOplog;
import de.bwaldvogel.mongo.oplog.Oplog;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * Update commands with statements whose update is an aggregation pipeline
 * ({@code updateOne(filter, List.of(Aggregates.set(...)))}), which mongo-java-server cannot run.
 * Each such statement runs the pipeline over each matched document and stores the result; its
 * change event is an {@code update} described by the difference it made, as MongoDB's is. An
 * upsert inserts what the pipeline makes of the filter's equalities. The command's other
 * statements run as before, one at a time, and the replies are merged.
 */
final class PipelineUpdates {
  /** The stages MongoDB allows in an update pipeline, with the names mongo-java-server knows them by. */
  private static final Map<String, String> STAGES = Map.of(
      "$addFields", "$addFields", "$set", "$addFields", "$project", "$project", "$unset", "$unset",
      "$replaceRoot", "$replaceRoot", "$replaceWith", "$replaceRoot");

  private PipelineUpdates() {}

  /** Where a pipeline update is logged, with the description worked out here and the document before and after it. */
  interface Log {
    void handleDescribedUpdate(String namespace, Object id, Document description, Document before, Document after);
  }

  static boolean any(Document command) {
    return command.get("updates") instanceof List<?> updates
        && updates.stream().anyMatch(update -> update instanceof Document statement && statement.get("u") instanceof List);
  }

  /**
   * Runs an update command. {@code single} runs a command of one non-pipeline statement the usual
   * way; {@code oplog} is the server's, or null when it keeps none.
   */
  static Document execute(
      MongoDatabase database, DatabaseResolver databases, Log oplog, Document command, UnaryOperator<Document> single) {
    String collectionName = String.valueOf(command.get("update"));
    boolean ordered = !Boolean.FALSE.equals(command.get("ordered"));
    List<?> statements = (List<?>) command.get("updates");
    int matched = 0;
    int modified = 0;
    List<Document> upserted = new ArrayList<>();
    List<Document> writeErrors = new ArrayList<>();
    for (int index = 0; index < statements.size(); index++) {
      Document statement = (Document) statements.get(index);
      Document result;
      if (statement.get("u") instanceof List<?> pipeline) {
        try {
          result = pipelineStatement(database, databases, oplog, collectionName, statement, pipeline, single);
        } catch (MongoServerError e) {
          result = new Document("writeErrors", List.of(new Document("index", 0).append("code", e.getCode())
              .append("errmsg", e.getMessageWithoutErrorCode())));
        }
      } else {
        Document one = command.cloneDeeply();
        one.put("updates", List.of(statement));
        result = single.apply(one);
        if (result.get("ok") instanceof Number ok && ok.doubleValue() != 1.0) return result;
      }
      int upserts = result.get("upserted") instanceof List<?> list ? list.size() : 0;
      matched += ((Number) result.getOrDefault("n", 0)).intValue() - upserts;
      modified += ((Number) result.getOrDefault("nModified", 0)).intValue();
      if (result.get("upserted") instanceof List<?> list) {
        for (Object item : list) upserted.add(new Document("index", index).append("_id", ((Document) item).get("_id")));
      }
      if (result.get("writeErrors") instanceof List<?> errors && !errors.isEmpty()) {
        for (Object error : errors) {
          Document indexed = ((Document) error).cloneDeeply();
          indexed.put("index", index);
          writeErrors.add(indexed);
        }
        if (ordered) break;
      }
    }
    Document reply = new Document("n", matched + upserted.size()).append("nModified", modified);
    if (!upserted.isEmpty()) reply.append("upserted", upserted);
    if (!writeErrors.isEmpty()) reply.append("writeErrors", writeErrors);
    return reply.append("ok", 1.0);
  }

  private static Document pipelineStatement(
      MongoDatabase database, DatabaseResolver databases, Log oplog, String collectionName, Document statement,
      List<?> pipeline, UnaryOperator<Document> single) {
    MongoCollection<?> collection = database.resolveCollection(collectionName, false);
    Aggregation aggregation = Aggregation.fromPipeline(stages(pipeline), databases, database, collection, NoopOplog.get());
    Document filter = statement.get("q") instanceof Document q ? q : new Document();
    boolean multi = Boolean.TRUE.equals(statement.get("multi"));
    List<Document> targets = new ArrayList<>();
    if (collection != null) {
      for (Document document : collection.handleQuery(filter, 0, multi ? 0 : 1)) targets.add(document.cloneDeeply());
    }
    if (targets.isEmpty() && Boolean.TRUE.equals(statement.get("upsert"))) {
      Document inserted = apply(aggregation, seed(filter));
      Document reply = single.apply(new Document("insert", collectionName).append("documents", List.of(inserted)).append("ordered", true));
      if (reply.get("writeErrors") instanceof List<?> errors && !errors.isEmpty()) return reply;
      return new Document("n", 1).append("nModified", 0).append("upserted", List.of(new Document("index", 0).append("_id", inserted.get("_id"))));
    }
    int modified = 0;
    for (Document before : targets) {
      Document after = apply(aggregation, before);
      if (after.equals(before)) continue;
      Document description = ChangeEvents.difference(before, after);
      collection.updateDocuments(new Document("_id", before.get("_id")), after, ArrayFilters.empty(), false, false,
          described(oplog, description, before, after));
      modified++;
    }
    return new Document("n", targets.size()).append("nModified", modified);
  }

  private static List<Document> stages(List<?> pipeline) {
    List<Document> stages = new ArrayList<>();
    for (Object item : pipeline) {
      if (!(item instanceof Document stage) || stage.size() != 1) {
        throw new MongoServerError(40323, "A pipeline stage specification object must contain exactly one field.");
      }
      String name = stage.keySet().iterator().next();
      String known = STAGES.get(name);
      if (known == null) throw new MongoServerError(72, "InvalidOptions", name + " is not allowed to be used within an update");
      Object argument = stage.get(name);
      stages.add(new Document(known, "$replaceWith".equals(name) ? new Document("newRoot", argument) : argument));
    }
    return stages;
  }

  /** The pipeline's result for one document, which keeps its _id (the first field), as MongoDB requires. */
  private static Document apply(Aggregation aggregation, Document before) {
    List<Document> results = aggregation.runStages(Stream.of(before.cloneDeeply()));
    Document result = results.isEmpty() ? new Document() : results.get(0);
    Object id = before.get("_id");
    if (result.containsKey("_id") && !result.get("_id").equals(id)) {
      throw new MongoServerError(66, "ImmutableField", "Performing an update on the path '_id' would modify the immutable field '_id'");
    }
    Document after = new Document("_id", id);
    result.forEach((key, value) -> {
      if (!"_id".equals(key)) after.put(key, value);
    });
    return after;
  }

  /** What an upsert starts from: the filter's equalities on top-level fields, and an _id. */
  private static Document seed(Document filter) {
    Document seed = new Document();
    filter.forEach((key, value) -> {
      boolean operators = value instanceof Document nested && nested.keySet().stream().anyMatch(k -> k.startsWith("$"));
      if (!key.startsWith("$") && !key.contains(".") && !operators) seed.put(key, value);
    });
    if (!seed.containsKey("_id")) {
      Document withId = new Document("_id", new ObjectId());
      withId.putAll(seed);
      return withId;
    }
    return seed;
  }

  /** An oplog for one replacement, which logs it as an update with the description given. */
  private static Oplog described(Log oplog, Document description, Document before, Document after) {
    return new Oplog() {
      @Override
      public void handleInsert(String namespace, List<Document> documents) {
        throw new UnsupportedOperationException("a replacement inserts nothing");
      }

      @Override
      public void handleUpdate(String namespace, Document selector, Document query, List<Object> modifiedIds) {
        if (oplog != null) {
          for (Object id : modifiedIds) oplog.handleDescribedUpdate(namespace, id, description, before, after);
        }
      }

      @Override
      public void handleDelete(String namespace, Document query, List<Object> deletedIds) {
        throw new UnsupportedOperationException("a replacement deletes nothing");
      }

      @Override
      public void handleDropCollection(String namespace) {
        throw new UnsupportedOperationException("a replacement drops nothing");
      }

      @Override
      public Cursor createCursor(Document changeStreamDocument, String namespace, Aggregation aggregation) {
        throw new UnsupportedOperationException("not a change-stream oplog");
      }
    };
  }
}
