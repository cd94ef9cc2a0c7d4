package io.tidemark.service;

import static org.assertj.core.api.Assertions.assertThat;

import com.typesafe.config.Config;
import io.tidemark.sink.Sinks;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The demo's stream is conf/demo.conf read as any stream configuration, its names and the service keys set by tidemark.demo.*. */
class DemoStreamTest {
  private static Config demo(Map<String, Object> options) {
    return DemoStream.configure(ServiceConfig.load(null, options, Map.of(), DemoStream.resource()));
  }

  @Test
  void theDefaultsWatchTheOrdersIntoTheirViewAndLedger() {
    Config config = demo(Map.of());
    List<StreamDefinition> streams = StreamDefinition.all(config, Sinks.load(getClass().getClassLoader()));
    assertThat(streams).hasSize(1);
    StreamDefinition stream = streams.get(0);
    assertThat(stream.name()).isEqualTo("orders-view");
    assertThat(stream.target()).isEqualTo("shop.orders");
    assertThat(stream.sinkType()).isEqualTo("demo-view");
    assertThat(stream.sink().getString("database")).isEqualTo("shop");
    assertThat(stream.sink().getString("view")).isEqualTo("orders_view");
    assertThat(stream.sink().getString("ledger")).isEqualTo("orders_ledger");
    ServiceSettings service = ServiceSettings.create(config);
    assertThat(service.checkpointStore).isEqualTo(ServiceSettings.CheckpointStoreKind.JDBC);
    assertThat(service.progressInterval).hasSeconds(5);
    assertThat(service.standbyProgress).as("tidemark.demo.standby-progress = on, unlike run's default").isTrue();
  }

  @Test
  void theDemoKeysNameTheStreamItsCollectionsAndTheServiceSettings() {
    Config config = demo(Map.of("tidemark.demo.stream", "purchases-view", "tidemark.demo.database", "store", "tidemark.demo.collection", "purchases",
        "tidemark.demo.checkpoint-store", "redis", "tidemark.demo.progress-interval", "0s", "tidemark.demo.standby-progress", "off",
        "tidemark.streams.other.sink.type", "stdout"));
    List<StreamDefinition> streams = StreamDefinition.all(config, Sinks.load(getClass().getClassLoader()));
    assertThat(streams).extracting(StreamDefinition::name).as("the demo's stream only").containsExactly("purchases-view");
    assertThat(streams.get(0).target()).isEqualTo("store.purchases");
    assertThat(streams.get(0).sink().getString("database")).isEqualTo("store");
    assertThat(streams.get(0).sink().getString("view")).isEqualTo("purchases_view");
    assertThat(streams.get(0).sink().getString("ledger")).isEqualTo("purchases_ledger");
    ServiceSettings service = ServiceSettings.create(config);
    assertThat(service.checkpointStore).isEqualTo(ServiceSettings.CheckpointStoreKind.REDIS);
    assertThat(service.progressInterval).isZero();
    assertThat(service.standbyProgress).isFalse();
  }
}
