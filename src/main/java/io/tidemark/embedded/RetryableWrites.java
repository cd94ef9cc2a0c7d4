package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.exception.MongoServerError;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * Retryable writes (https://www.mongodb.com/docs/manual/core/retryable-writes/): a write that a
 * driver sends again, with the session and transaction number of the first try, is answered with
 * the first try's reply and not done twice. Each session remembers its latest retryable write;
 * an older transaction number on it is {@code TransactionTooOld} (225).
 */
final class RetryableWrites {
  private static final Set<String> WRITES = Set.of("insert", "update", "delete", "findandmodify");

  /** A session's latest retryable write, locked while it runs so that a retry waits for it. */
  private static final class Latest {
    long txnNumber = -1;
    Document reply;
  }

  private final Map<Object, Latest> bySession = new ConcurrentHashMap<>();

  /** Runs {@code write} (a command named {@code name}, lower case), once per session and txnNumber. */
  Document execute(String name, Document command, Supplier<Document> write) {
    if (!WRITES.contains(name) || !(command.get("txnNumber") instanceof Number number)
        || !(command.get("lsid") instanceof Document lsid) || lsid.get("id") == null) {
      return write.get();
    }
    long txnNumber = number.longValue();
    Latest latest = bySession.computeIfAbsent(lsid.get("id"), id -> new Latest());
    synchronized (latest) {
      if (txnNumber == latest.txnNumber && latest.reply != null) return latest.reply.cloneDeeply();
      if (txnNumber < latest.txnNumber) {
        throw new MongoServerError(225, "TransactionTooOld", "Retryable write with txnNumber " + txnNumber
            + " is prohibited on session because a newer retryable write with txnNumber " + latest.txnNumber + " has already started.");
      }
      Document reply = write.get();
      latest.txnNumber = txnNumber;
      latest.reply = reply.get("ok") instanceof Number ok && ok.doubleValue() == 1.0 ? reply.cloneDeeply() : null;
      return reply;
    }
  }

  /** Sessions ended: nothing of theirs is retried any more. */
  void end(Object sessions) {
    if (!(sessions instanceof java.util.List<?> list)) return;
    for (Object lsid : list) {
      if (lsid instanceof Document session && session.get("id") != null) bySession.remove(session.get("id"));
    }
  }
}
