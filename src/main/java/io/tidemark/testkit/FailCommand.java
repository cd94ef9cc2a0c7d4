package io.tidemark.testkit;

import java.util.List;
import org.bson.BsonArray;
import org.bson.BsonBoolean;
import org.bson.BsonDocument;
import org.bson.BsonInt32;
import org.bson.BsonString;
import org.bson.BsonValue;

/**
 * One {@code failCommand} fail point, as {@code configureFailPoint} takes it on a mongod started
 * with {@code enableTestCommands=1} and on the kit's embedded server:
 *
 * <pre>
 * FailCommand.on("getMore").errorCode(11602).errorLabels("ResumableChangeStreamError").times(1)
 * FailCommand.on("getMore").closeConnection().times(1)
 * </pre>
 */
public record FailCommand(List<String> commands, int errorCode, List<String> errorLabels, boolean closesConnection, BsonValue mode) {

  /** Fails the given commands every time, until turned off or narrowed with {@link #times} or {@link #skip}. */
  public static FailCommand on(String... commands) {
    return new FailCommand(List.of(commands), 0, List.of(), false, new BsonString("alwaysOn"));
  }

  public FailCommand errorCode(int code) {
    return new FailCommand(commands, code, errorLabels, closesConnection, mode);
  }

  public FailCommand errorLabels(String... labels) {
    return new FailCommand(commands, errorCode, List.of(labels), closesConnection, mode);
  }

  /** Closes the connection instead of replying: the client sees a network error. */
  public FailCommand closeConnection() {
    return new FailCommand(commands, errorCode, errorLabels, true, mode);
  }

  /** Fails the next {@code n} matching commands, then turns itself off. */
  public FailCommand times(int n) {
    return new FailCommand(commands, errorCode, errorLabels, closesConnection, new BsonDocument("times", new BsonInt32(n)));
  }

  /** Lets the next {@code n} matching commands pass, then fails every one after. */
  public FailCommand skip(int n) {
    return new FailCommand(commands, errorCode, errorLabels, closesConnection, new BsonDocument("skip", new BsonInt32(n)));
  }

  /** The {@code configureFailPoint} command. */
  public BsonDocument command() {
    BsonDocument data = new BsonDocument("failCommands", strings(commands));
    if (errorCode != 0) data.append("errorCode", new BsonInt32(errorCode));
    if (!errorLabels.isEmpty()) data.append("errorLabels", strings(errorLabels));
    if (closesConnection) data.append("closeConnection", BsonBoolean.TRUE);
    return new BsonDocument("configureFailPoint", new BsonString("failCommand")).append("mode", mode).append("data", data);
  }

  static BsonDocument off() {
    return new BsonDocument("configureFailPoint", new BsonString("failCommand")).append("mode", new BsonString("off"));
  }

  private static BsonArray strings(List<String> values) {
    BsonArray array = new BsonArray();
    values.forEach(value -> array.add(new BsonString(value)));
    return array;
  }
}
