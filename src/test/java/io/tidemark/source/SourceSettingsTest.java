package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.typesafe.config.ConfigFactory;
import io.tidemark.TidemarkException;
import org.junit.jupiter.api.Test;

/** The source's settings: the demand asked of the driver is a power of two, 256 by default. */
class SourceSettingsTest {

  @Test
  void theDemandIsAPowerOfTwoAndNamesItsKeyWhenItIsNot() {
    assertThat(SourceSettings.create(ConfigFactory.load()).demand).as("the default").isEqualTo(256);
    assertThat(SourceSettings.create(ConfigFactory.parseString("tidemark.pipeline.source.demand = 1024").withFallback(ConfigFactory.load())).demand)
        .isEqualTo(1024);
    assertThatThrownBy(() -> SourceSettings.create(ConfigFactory.parseString("tidemark.pipeline.source.demand = 100").withFallback(ConfigFactory.load())))
        .isInstanceOf(TidemarkException.class)
        .hasMessage("invalid config key tidemark.pipeline.source.demand = 100: expected a power of two, such as 256");
  }
}
