package io.tidemark.embedded;

import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.bson.BinData;
import de.bwaldvogel.mongo.bson.BsonTimestamp;
import de.bwaldvogel.mongo.bson.Document;
import de.bwaldvogel.mongo.bson.ObjectId;
import de.bwaldvogel.mongo.wire.BsonConstants;
import de.bwaldvogel.mongo.wire.MongoWireProtocolHandler;
import io.netty.channel.Channel;
import io.netty.util.AttributeKey;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What the embedded server says of itself: the primary of a one-member replica set {@value #SET_NAME}
 * (or, when configured so, a standalone server), in the handshake ({@code hello}, {@code isMaster})
 * and in {@code replSetGetStatus}; and the cluster time every reply of a replica-set member carries.
 *
 * <p>It names itself by the address it is bound to, as a member's configured host; bound to a
 * wildcard address, by the address the client reached it at. It reports no {@code topologyVersion},
 * so drivers poll it every {@code heartbeatFrequencyMS} instead of holding an awaitable
 * {@code hello} open on one of its event-loop threads.
 */
final class ReplicaSetMember {
  static final String SET_NAME = "rs0";
  static final int SESSION_TIMEOUT_MINUTES = 30;
  /** A term of 1, as the first election of a new set gives. */
  static final long TERM = 1;

  /**
   * MongoDB 6.0.9 (wire version 17): the first release with everything the server implements —
   * {@code wallTime} on change events (6.0), {@code $changeStreamSplitLargeEvent} (6.0.9), error
   * labels by which clients classify change-stream errors (4.4), transactions (4.0).
   */
  static final MongoVersion VERSION = new MongoVersion() {
    @Override
    public List<Integer> getVersionArray() {
      return List.of(6, 0, 9);
    }

    @Override
    public int getWireVersion() {
      return 17;
    }
  };

  private static final AttributeKey<Integer> CONNECTION_ID = AttributeKey.valueOf("tidemark.connectionId");

  private final boolean replicaSet;
  private final Instant started = Instant.now();
  private final ObjectId electionId = new ObjectId(String.format("7fffffff%016x", TERM));
  private final AtomicInteger connections = new AtomicInteger();
  private volatile InetSocketAddress bound;

  ReplicaSetMember(boolean replicaSet) {
    this.replicaSet = replicaSet;
  }

  boolean isReplicaSet() {
    return replicaSet;
  }

  /** The address the server listens on, known once it is bound. */
  void bound(InetSocketAddress address) {
    this.bound = address;
  }

  /** host:port of this member, as a driver should address it. */
  String host(Channel channel) {
    InetSocketAddress address = bound;
    if ((address == null || address.getAddress() == null || address.getAddress().isAnyLocalAddress())
        && channel != null && channel.localAddress() instanceof InetSocketAddress local) {
      address = new InetSocketAddress(local.getAddress(), address == null ? local.getPort() : address.getPort());
    }
    if (address == null) return "localhost:27017";
    String host = address.getAddress() != null ? address.getAddress().getHostAddress() : address.getHostString();
    if (host.contains(":")) host = "[" + host + "]";
    return host + ":" + address.getPort();
  }

  /**
   * The handshake. {@code legacy}: answering {@code isMaster}, which says {@code ismaster} where
   * {@code hello} says {@code isWritablePrimary}, and {@code helloOk} when the client asked.
   */
  Document hello(Channel channel, Document query, boolean legacy, long clusterTime) {
    Document reply = new Document();
    if (legacy) {
      reply.append("ismaster", true);
      if (query.containsKey("helloOk")) reply.append("helloOk", true);
    } else {
      reply.append("isWritablePrimary", true);
    }
    if (replicaSet) {
      String me = host(channel);
      Instant wall = Instant.ofEpochSecond(clusterTime >>> 32);
      reply.append("hosts", List.of(me))
          .append("setName", SET_NAME)
          .append("setVersion", 1)
          .append("secondary", false)
          .append("primary", me)
          .append("me", me)
          .append("electionId", electionId)
          .append("lastWrite", new Document("opTime", opTime(clusterTime))
              .append("lastWriteDate", wall)
              .append("majorityOpTime", opTime(clusterTime))
              .append("majorityWriteDate", wall));
    }
    return reply.append("maxBsonObjectSize", BsonConstants.MAX_BSON_OBJECT_SIZE)
        .append("maxMessageSizeBytes", MongoWireProtocolHandler.MAX_MESSAGE_SIZE_BYTES)
        .append("maxWriteBatchSize", MongoWireProtocolHandler.MAX_WRITE_BATCH_SIZE)
        .append("localTime", Instant.now())
        .append("logicalSessionTimeoutMinutes", SESSION_TIMEOUT_MINUTES)
        .append("connectionId", connectionId(channel))
        .append("minWireVersion", 0)
        .append("maxWireVersion", VERSION.getWireVersion())
        .append("readOnly", false)
        .append("ok", 1.0);
  }

  /** {@code replSetGetStatus}: this member, healthy and primary. */
  Document status(Channel channel, long clusterTime) {
    Instant wall = Instant.ofEpochSecond(clusterTime >>> 32);
    long uptime = Duration.between(started, Instant.now()).toSeconds();
    Document self = new Document("_id", 0)
        .append("name", host(channel))
        .append("health", 1.0)
        .append("state", 1)
        .append("stateStr", "PRIMARY")
        .append("uptime", uptime)
        .append("optime", opTime(clusterTime))
        .append("optimeDate", wall)
        .append("lastAppliedWallTime", wall)
        .append("lastDurableWallTime", wall)
        .append("syncSourceHost", "")
        .append("syncSourceId", -1)
        .append("infoMessage", "")
        .append("electionTime", new BsonTimestamp(started.getEpochSecond() << 32 | 1))
        .append("electionDate", started)
        .append("configVersion", 1)
        .append("configTerm", TERM)
        .append("self", true)
        .append("lastHeartbeatMessage", "");
    Document optimes = new Document("lastCommittedOpTime", opTime(clusterTime))
        .append("lastCommittedWallTime", wall)
        .append("readConcernMajorityOpTime", opTime(clusterTime))
        .append("appliedOpTime", opTime(clusterTime))
        .append("durableOpTime", opTime(clusterTime))
        .append("lastAppliedWallTime", wall)
        .append("lastDurableWallTime", wall);
    return new Document("set", SET_NAME)
        .append("date", Instant.now())
        .append("myState", 1)
        .append("term", TERM)
        .append("syncSourceHost", "")
        .append("syncSourceId", -1)
        .append("heartbeatIntervalMillis", 2000L)
        .append("majorityVoteCount", 1)
        .append("writeMajorityCount", 1)
        .append("votingMembersCount", 1)
        .append("writableVotingMembersCount", 1)
        .append("optimes", optimes)
        .append("members", List.of(self))
        .append("ok", 1.0);
  }

  /** Stamps a reply with the cluster time, as a replica-set member does ({@code $clusterTime}, {@code operationTime}). */
  void stamp(Document reply, long clusterTime) {
    if (!replicaSet) return;
    BsonTimestamp time = new BsonTimestamp(clusterTime);
    reply.putIfAbsent("operationTime", time);
    // Unsigned: the server has no keys (no access control); clients accept a zero signature from it.
    reply.put("$clusterTime", new Document("clusterTime", time)
        .append("signature", new Document("hash", new BinData(new byte[20])).append("keyId", 0L)));
  }

  private static Document opTime(long clusterTime) {
    return new Document("ts", new BsonTimestamp(clusterTime)).append("t", TERM);
  }

  private int connectionId(Channel channel) {
    if (channel == null) return 0;
    Integer id = channel.attr(CONNECTION_ID).get();
    if (id == null) {
      id = connections.incrementAndGet();
      Integer raced = channel.attr(CONNECTION_ID).setIfAbsent(id);
      if (raced != null) id = raced;
    }
    return id;
  }
}
