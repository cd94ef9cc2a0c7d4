package io.tidemark.embedded;

import java.util.List;

/** The errors of multi-document transactions, with the labels by which drivers retry them. */
final class TransactionError extends LabelledError {
  private static final long serialVersionUID = 1L;

  static final String TRANSIENT = "TransientTransactionError";

  private TransactionError(int code, String codeName, String message, List<String> labels) {
    super(code, codeName, message, labels);
  }

  static TransactionError noSuchTransaction(long txnNumber, String state) {
    return new TransactionError(251, "NoSuchTransaction", "Transaction with { txnNumber: " + txnNumber + " } " + state, List.of(TRANSIENT));
  }

  /** Another write changed a document this transaction writes, after the transaction read it. */
  static TransactionError writeConflict(String detail) {
    return new TransactionError(112, "WriteConflict",
        "Write conflict during plan execution and yielding is disabled. :: Please retry your operation or multi-document transaction. ("
            + detail + ")",
        List.of(TRANSIENT));
  }

  static TransactionError notSupported(String command) {
    return new TransactionError(263, "OperationNotSupportedInTransaction", "Cannot run '" + command + "' in a multi-document transaction.",
        List.of());
  }

  static TransactionError tooOld(long txnNumber, long newer) {
    return new TransactionError(225, "TransactionTooOld",
        "Cannot start transaction " + txnNumber + " on session because a newer transaction " + newer + " has already started.", List.of());
  }

  static TransactionError committed(long txnNumber) {
    return new TransactionError(256, "TransactionCommitted", "Transaction " + txnNumber + " has been committed.", List.of());
  }

  static TransactionError notOnStandalone() {
    return new TransactionError(20, "IllegalOperation", "Transaction numbers are only allowed on a replica set member or mongos", List.of());
  }
}
