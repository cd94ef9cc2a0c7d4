package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import java.util.List;

/** A change-stream error as a replica set reports it: code, code name and error labels. */
final class ChangeStreamError extends LabelledError {
  private static final long serialVersionUID = 1L;

  static final String NON_RESUMABLE = "NonResumableChangeStreamError";

  ChangeStreamError(int code, String codeName, String message, List<String> labels) {
    super(code, codeName, message, labels);
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

  /** An event over the size limit; the message names its _id, as a replica set's does. */
  static ChangeStreamError tooLarge(int size, int limit, Object id) {
    Object data = id instanceof Document token ? token.get("_data") : id;
    return new ChangeStreamError(10334, "BSONObjectTooLarge",
        "Executor error during getMore :: caused by :: BSONObj size: " + size + " (0x" + Integer.toHexString(size).toUpperCase()
            + ") is invalid. Size must be between 0 and " + limit + "(" + (limit / (1024 * 1024)) + "MB) First element: _id: { _data: \""
            + data + "\" }",
        List.of());
  }

  /**
   * A stream opened with {@code fullDocumentBeforeChange: required} (or {@code fullDocument:
   * required}) met an event whose pre-image (post-image) was not recorded: NoMatchingDocument
   * (47), with the message MongoDB gives (SERVER-66808).
   */
  static ChangeStreamError imageNotFound(String image, Document event) {
    Document shown = new Document("_id", event.get("_id")).append("operationType", event.get("operationType"))
        .append("ns", event.get("ns")).append("documentKey", event.get("documentKey"));
    return new ChangeStreamError(47, "NoMatchingDocument", "Change stream was configured"
        + " to require a " + image + " for all update, delete and replace events, but the " + image + " was not found for event: "
        + shown, List.of());
  }

  /** A token that meets no event of this stream: its event is of another collection or database. */
  static ChangeStreamError tokenOfAnotherStream(String detail) {
    return tokenNotFound(detail);
  }

  /** The pipeline changed or removed an event's _id, its resume token: the stream could not resume from it. */
  static ChangeStreamError idModified() {
    return new ChangeStreamError(280, "ChangeStreamFatalError",
        "Encountered an event whose _id field, which contains the resume token, was modified by the pipeline: the stream"
            + " could not be resumed from that point. Only transformations that keep the _id field unmodified are allowed.",
        List.of(NON_RESUMABLE));
  }

  /** Options that the server refuses together, with the code it refuses them with. */
  static ChangeStreamError conflictingOptions(int code, String message) {
    return new ChangeStreamError(code, "Location" + code, message, List.of());
  }

  /** A stream the server does not open where it was asked for: InvalidOptions (72), InvalidNamespace (73). */
  static ChangeStreamError refused(int code, String codeName, String message) {
    return new ChangeStreamError(code, codeName, message, List.of());
  }

  static ChangeStreamError notReplicaSet() {
    return new ChangeStreamError(40573, "Location40573", "The $changeStream stage is only supported on replica sets", List.of());
  }
}
