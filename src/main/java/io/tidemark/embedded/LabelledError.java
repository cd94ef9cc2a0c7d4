package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import java.util.List;

/** A server error as a replica set reports it: code, code name and the error labels clients act on. */
class LabelledError extends MongoServerError {
  private static final long serialVersionUID = 1L;

  private final List<String> labels;

  LabelledError(int code, String codeName, String message, List<String> labels) {
    super(code, codeName, message);
    this.labels = labels;
  }

  Document reply() {
    Document reply = new Document("ok", 0.0)
        .append("errmsg", getMessageWithoutErrorCode())
        .append("code", getCode())
        .append("codeName", getCodeName());
    if (!labels.isEmpty()) reply.append("errorLabels", labels);
    return reply;
  }
}
