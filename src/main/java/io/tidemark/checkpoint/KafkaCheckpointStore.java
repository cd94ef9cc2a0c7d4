package io.tidemark.checkpoint;

import akka.actor.typed.ActorSystem;
import akka.actor.typed.DispatcherSelector;
import io.tidemark.TidemarkException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * Checkpoints on a compacted Kafka topic ({@code tidemark_checkpoints} by default), one record key
 * per stream, written in the same Kafka transactions as the records the exactly-once
 * {@code KafkaSink} writes: records and position commit or abort together.
 *
 * <p>Each pipeline run of a stream has its own transactional producer, whose
 * {@code transactional.id} is derived from the stream's name. {@link StreamCheckpoints#acquire()}
 * initialises it — which fences every older producer of the stream (Kafka's zombie fencing; an
 * older consumer's open transaction is aborted, and its next send or commit fails) — reads the
 * stream's newest committed record ({@code read_committed}), and commits it again with epoch e + 1.
 * So a consumer holds the stream exactly while its producer is the newest: an older consumer's
 * checkpoint and records can no longer commit, and its saves fail with {@link FencedException}.
 *
 * <p>Every transaction commits the stream's record (see {@code KafkaCheckpointRecord}): the
 * checkpoint, and the position of the newest committed event of every key past it, so that a replay
 * after a crash skips exactly the events whose records are already in Kafka, whatever order the
 * lanes finished them in. A save with no records pending commits at once; otherwise it rides on the
 * next transaction ({@code commit-interval}, or {@code commit-events} events, whichever first).
 */
public final class KafkaCheckpointStore implements CheckpointStore {
  private final KafkaCheckpointSettings settings;
  private final Executor blocking;
  private final KafkaCheckpointReader reader;
  private final ConcurrentHashMap<String, KafkaStreamRecord> open = new ConcurrentHashMap<>();
  private volatile boolean topicReady;

  private KafkaCheckpointStore(KafkaCheckpointSettings settings, Executor blocking) {
    this.settings = settings;
    this.blocking = blocking;
    this.reader = new KafkaCheckpointReader(settings);
  }

  /** A store with settings from {@code tidemark.checkpoint.kafka}; reads run on the system's blocking-IO dispatcher. */
  public static KafkaCheckpointStore create(ActorSystem<?> system) {
    return create(system, KafkaCheckpointSettings.create(system));
  }

  public static KafkaCheckpointStore create(ActorSystem<?> system, KafkaCheckpointSettings settings) {
    return new KafkaCheckpointStore(settings, system.dispatchers().lookup(DispatcherSelector.blocking()));
  }

  public KafkaCheckpointSettings settings() {
    return settings;
  }

  @Override
  public CompletionStage<StreamCheckpoints> open(String stream) {
    StreamNames.validate(stream);
    KafkaStreamRecord record = new KafkaStreamRecord(stream, this, settings);
    if (open.putIfAbsent(stream, record) != null) {
      record.discard();
      return CompletableFuture.failedFuture(
          new TidemarkException("stream '" + stream + "' is already open in this process: run one pipeline per stream"));
    }
    return CompletableFuture.completedFuture(record);
  }

  /**
   * The transactions of the stream's current run, which the exactly-once Kafka sink writes its
   * records through. Refused when the stream is not open in this store: the pipeline must keep its
   * checkpoints in the same store.
   */
  public KafkaStreamTransaction transaction(String stream) {
    KafkaStreamRecord record = open.get(stream);
    if (record == null) {
      throw new TidemarkException("stream '" + stream + "': the exactly-once Kafka sink writes in the stream's Kafka transactions,"
          + " but this KafkaCheckpointStore has no open record for the stream: give the pipeline .checkpoints(...) the same"
          + " KafkaCheckpointStore as the sink");
    }
    return record;
  }

  void released(String stream, KafkaStreamRecord record) {
    open.remove(stream, record);
  }

  KafkaCheckpointReader reader() {
    return reader;
  }

  Executor blocking() {
    return blocking;
  }

  /**
   * Makes sure the checkpoint topic exists and is compacted (created when missing and
   * {@code create-topic} is on). A topic that deletes old records would lose a quiet stream's
   * checkpoint after its retention, so it is refused. Blocking.
   */
  void ensureTopic() {
    if (topicReady) return;
    synchronized (this) {
      if (topicReady) return;
      long timeout = settings.timeout.toMillis();
      try (Admin admin = Admin.create(adminProperties())) {
        Set<String> names = admin.listTopics().names().get(timeout, TimeUnit.MILLISECONDS);
        if (!names.contains(settings.topic)) {
          if (!settings.createTopic) {
            throw new TidemarkException("the checkpoint topic '" + settings.topic + "' does not exist and"
                + " tidemark.checkpoint.kafka.create-topic is off: create it with cleanup.policy=compact");
          }
          NewTopic topic = new NewTopic(settings.topic, Optional.of(settings.partitions),
              settings.replicationFactor < 0 ? Optional.empty() : Optional.of(settings.replicationFactor))
              .configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
          try {
            admin.createTopics(List.of(topic)).all().get(timeout, TimeUnit.MILLISECONDS);
          } catch (ExecutionException e) {
            if (!(e.getCause() instanceof TopicExistsException)) throw e;
          }
        }
        ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, settings.topic);
        Config config = admin.describeConfigs(List.of(resource)).all().get(timeout, TimeUnit.MILLISECONDS).get(resource);
        String policy = config == null || config.get(TopicConfig.CLEANUP_POLICY_CONFIG) == null
            ? "" : config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value();
        if (!policy.contains(TopicConfig.CLEANUP_POLICY_COMPACT)) {
          throw new TidemarkException("the checkpoint topic '" + settings.topic + "' has cleanup.policy=" + policy + ": it must be"
              + " compacted (cleanup.policy=compact), or a stream's checkpoint is deleted once it is older than the topic's retention");
        }
        topicReady = true;
      } catch (ExecutionException | java.util.concurrent.TimeoutException | KafkaException e) {
        Throwable cause = e instanceof ExecutionException && e.getCause() != null ? e.getCause() : e;
        throw new CheckpointStoreUnavailableException("could not check the checkpoint topic '" + settings.topic + "' at "
            + settings.bootstrapServers + ": " + cause.getClass().getSimpleName() + ": " + cause.getMessage(), cause);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CheckpointStoreUnavailableException("interrupted while checking the checkpoint topic", e);
      }
    }
  }

  /** What an admin client needs of the producer's properties: where the brokers are, and how to reach them securely. */
  private Map<String, Object> adminProperties() {
    Map<String, Object> properties = new HashMap<>();
    settings.producerSettings.getProperties().forEach((key, value) -> {
      if (key.equals(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG) || key.startsWith("security.") || key.startsWith("sasl.")
          || key.startsWith("ssl.") || key.equals(CommonClientConfigs.CLIENT_DNS_LOOKUP_CONFIG)) {
        properties.put(key, value);
      }
    });
    properties.put(CommonClientConfigs.REQUEST_TIMEOUT_MS_CONFIG, (int) settings.timeout.toMillis());
    properties.put(CommonClientConfigs.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) settings.timeout.toMillis());
    return properties;
  }
}
