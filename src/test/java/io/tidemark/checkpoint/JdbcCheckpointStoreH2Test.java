package io.tidemark.checkpoint;

import com.typesafe.config.Config;
import io.tidemark.TestConfigs;

/** The checkpoint contract on H2, the embedded default's database. */
class JdbcCheckpointStoreH2Test extends JdbcCheckpointStoreFixture {
  private final Config journal = TestConfigs.h2Journal("checkpoints_" + Long.toHexString(System.nanoTime()));

  @Override
  Config journal() {
    return journal;
  }
}
