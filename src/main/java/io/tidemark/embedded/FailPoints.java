package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The {@code failCommand} fail point, in the shape a {@code mongod} started with
 * {@code enableTestCommands=1} accepts:
 *
 * <pre>
 * {configureFailPoint: "failCommand", mode: "alwaysOn" | "off" | {times: n} | {skip: n},
 *  data: {failCommands: ["getMore", ...], errorCode: n, errorLabels: [...], closeConnection: bool}}
 * </pre>
 */
final class FailPoints {

  /** What to do to one command. */
  record Injected(boolean closeConnection, Document reply) {}

  private List<String> commands = List.of();
  private int errorCode;
  private List<String> labels = List.of();
  private boolean closeConnection;
  private boolean on;
  private long times = -1;
  private long skip;

  synchronized Document configure(Document command) {
    Object name = command.get("configureFailPoint");
    if (!"failCommand".equals(name)) {
      return error(2, "BadValue", "unknown fail point '" + name + "': only failCommand is supported");
    }
    Object mode = command.get("mode");
    times = -1;
    skip = 0;
    if ("off".equals(mode)) {
      on = false;
    } else if ("alwaysOn".equals(mode)) {
      on = true;
    } else if (mode instanceof Document counts && counts.get("times") instanceof Number n) {
      on = true;
      times = n.longValue();
    } else if (mode instanceof Document counts && counts.get("skip") instanceof Number n) {
      on = true;
      skip = n.longValue();
    } else {
      return error(2, "BadValue", "mode must be \"alwaysOn\", \"off\", {times: n} or {skip: n}, was " + mode);
    }
    Document data = command.get("data") instanceof Document d ? d : new Document();
    commands = strings(data.get("failCommands"));
    errorCode = data.get("errorCode") instanceof Number code ? code.intValue() : 0;
    labels = strings(data.get("errorLabels"));
    closeConnection = Boolean.TRUE.equals(data.get("closeConnection"));
    Document reply = new Document("count", 0).append("ok", 1.0);
    return reply;
  }

  /** The fault to inject into this command, or null. */
  synchronized Injected check(String command) {
    if (!on || commands.stream().noneMatch(c -> c.equalsIgnoreCase(command))) return null;
    if (skip > 0) {
      skip--;
      return null;
    }
    if (times == 0) return null;
    if (times > 0 && --times == 0) on = false;
    Document reply = error(errorCode, null, "Failing command " + command.toLowerCase(Locale.ROOT) + " via 'failCommand' failpoint");
    if (!labels.isEmpty()) reply.append("errorLabels", labels);
    return new Injected(closeConnection, reply);
  }

  private static List<String> strings(Object value) {
    List<String> result = new ArrayList<>();
    if (value instanceof List<?> list) list.forEach(item -> result.add(String.valueOf(item)));
    return result;
  }

  static Document error(int code, String codeName, String message) {
    Document reply = new Document("ok", 0.0).append("errmsg", message).append("code", code);
    if (codeName != null) reply.append("codeName", codeName);
    return reply;
  }
}
