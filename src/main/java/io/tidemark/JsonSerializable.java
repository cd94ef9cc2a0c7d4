package io.tidemark;

/**
 * Marker for every message, event and state that Akka may serialize: bound to Jackson CBOR in
 * {@code reference.conf}. Java serialization stays off.
 */
public interface JsonSerializable {}
