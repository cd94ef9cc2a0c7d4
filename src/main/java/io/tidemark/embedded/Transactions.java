package io.tidemark.embedded;

import de.bwaldvogel.mongo.bson.Document;
import io.netty.channel.Channel;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Lock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * The multi-document transactions of the server's sessions, one open transaction per session, as
 * drivers run them: the first statement says {@code startTransaction}, every statement carries
 * {@code lsid}, {@code txnNumber} and {@code autocommit: false}, and {@code commitTransaction} or
 * {@code abortTransaction} ends it. What a transaction sees and how it commits: {@link Transaction}.
 *
 * <p>A transaction open longer than {@link #LIFETIME} is aborted, as MongoDB's
 * {@code transactionLifetimeLimitSeconds} does; so is an ended session's.
 */
final class Transactions {
  /** MongoDB's default transactionLifetimeLimitSeconds. */
  static final Duration LIFETIME = Duration.ofSeconds(60);

  /** What a transaction may run (lower case); commitTransaction and abortTransaction end it. */
  private static final Set<String> STATEMENTS = Set.of(
      "find", "getmore", "killcursors", "insert", "update", "delete", "findandmodify", "aggregate", "distinct", "create", "createindexes");

  private final ReplicaSetBackend server;
  private final Map<Object, Transaction> bySession = new ConcurrentHashMap<>();
  private final AtomicLong serials = new AtomicLong();
  /**
   * Shared by every command that reads or writes collections, held alone by a commit: so a commit's
   * conflict check and its writes are one step, and no reader sees half of them.
   */
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();

  Transactions(ReplicaSetBackend server) {
    this.server = server;
  }

  /** The lock a command that reads or writes collections holds while it runs. */
  Lock sharedLock() {
    return lock.readLock();
  }

  /** Whether the command is a statement of a transaction (or ends one). */
  static boolean isTransactional(Document command) {
    return Boolean.FALSE.equals(command.get("autocommit"));
  }

  Document handle(Channel channel, String databaseName, String command, Document query) {
    expire();
    String name = command.toLowerCase(Locale.ROOT);
    long txnNumber = query.get("txnNumber") instanceof Number n ? n.longValue() : -1;
    Object session = sessionKey(query.get("lsid"));
    if (session == null || txnNumber < 0) {
      throw new de.bwaldvogel.mongo.exception.MongoServerError(50768, "Location50768",
          "a transaction's statements must carry lsid and txnNumber with autocommit: false");
    }
    Transaction current = bySession.get(session);
    if (name.equals("committransaction")) return commit(channel, current, txnNumber);
    lock.readLock().lock();
    try {
      return statement(channel, databaseName, command, name, query, session, txnNumber, current);
    } finally {
      lock.readLock().unlock();
    }
  }

  private Document statement(
      Channel channel, String databaseName, String command, String name, Document query, Object session, long txnNumber, Transaction current) {
    if (name.equals("aborttransaction")) return abort(current, txnNumber);
    if (Boolean.TRUE.equals(query.get("startTransaction"))) {
      if (current != null && current.txnNumber() > txnNumber) throw TransactionError.tooOld(txnNumber, current.txnNumber());
      if (current != null && current.txnNumber() == txnNumber) throw TransactionError.noSuchTransaction(txnNumber, "has already started");
      if (current != null) current.abort();
      current = new Transaction(server, (Document) query.get("lsid"), txnNumber, serials.incrementAndGet());
      bySession.put(session, current);
    } else if (current == null || current.txnNumber() != txnNumber) {
      throw TransactionError.noSuchTransaction(txnNumber, "does not match any in-progress transaction");
    } else if (!current.isActive()) {
      throw TransactionError.noSuchTransaction(txnNumber, current.isCommitted() ? "has been committed" : "has been aborted");
    }
    if (!STATEMENTS.contains(name)) {
      current.abort();
      throw TransactionError.notSupported(command);
    }
    return current.run(channel, databaseName, command, query);
  }

  private Document commit(Channel channel, Transaction current, long txnNumber) {
    if (current == null || current.txnNumber() != txnNumber) {
      throw TransactionError.noSuchTransaction(txnNumber, "does not match any in-progress transaction");
    }
    if (current.isCommitted()) return new Document("ok", 1.0); // a retried commit
    if (!current.isActive()) throw TransactionError.noSuchTransaction(txnNumber, "has been aborted");
    lock.writeLock().lock();
    try {
      current.commit(channel, server.changeStreamOplog());
    } finally {
      lock.writeLock().unlock();
    }
    return new Document("ok", 1.0);
  }

  private Document abort(Transaction current, long txnNumber) {
    if (current == null || current.txnNumber() != txnNumber) {
      throw TransactionError.noSuchTransaction(txnNumber, "does not match any in-progress transaction");
    }
    if (current.isCommitted()) throw TransactionError.committed(txnNumber);
    current.abort();
    return new Document("ok", 1.0);
  }

  /** Sessions ended (endSessions, killSessions): their open transactions are aborted. */
  void end(Object sessions) {
    if (!(sessions instanceof List<?> list)) return;
    for (Object lsid : list) {
      Transaction transaction = bySession.remove(sessionKey(lsid));
      if (transaction != null) transaction.abort();
    }
  }

  /** Every session's transaction is aborted (killAllSessions). */
  void endAll() {
    bySession.values().forEach(Transaction::abort);
    bySession.clear();
  }

  private void expire() {
    Instant limit = Instant.now().minus(LIFETIME);
    bySession.values().forEach(transaction -> {
      if (transaction.isActive() && transaction.started().isBefore(limit)) transaction.abort();
    });
  }

  private static Object sessionKey(Object lsid) {
    return lsid instanceof Document session ? session.get("id") : null;
  }
}
