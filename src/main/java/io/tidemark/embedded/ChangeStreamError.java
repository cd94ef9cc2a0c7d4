package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import java.util.List;

/** A change-stream error as a replica set reports it: code, code name and error labels. */
final class ChangeStreamError extends MongoServerError {
  private static final long serialVersionUID = 1L;

  static final String NON_RESUMABLE = "NonResumableChangeStreamError";

  private final List<String> labels;

  ChangeStreamError(int code, String codeName, String message, List<String> labels) {
    super(code, codeName, message);
    this.labels = labels;
  }

  static ChangeStreamError historyLost(String detail) {
    return new ChangeStreamError(286, "ChangeStreamHistoryLost",
        "Resume of change stream was not possible, as the resume point may no longer be in the oplog. " + detail,
        List.of(NON_RESUMABLE));
  }

  static ChangeStreamError tokenNotFound(String detail) {
    return new ChangeStreamError(280, "ChangeStreamFatalError",
        "cannot resume stream; the resume token was not found. " + detail, List.of(NON_RESUMABLE));
  }

  static ChangeStreamError invalidToken(String detail) {
    return new ChangeStreamError(260, "InvalidResumeToken", detail, List.of(NON_RESUMABLE));
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
