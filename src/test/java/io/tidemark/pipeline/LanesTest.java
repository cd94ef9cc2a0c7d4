package io.tidemark.pipeline;

import static org.assertj.core.api.Assertions.assertThat;

import org.bson.BsonDocument;
import org.junit.jupiter.api.Test;

class LanesTest {

  @Test
  void aDocumentHasOneLaneWhetherItsKeyHoldsTheShardKeyOrOnlyItsId() {
    for (int id = 0; id < 200; id++) {
      BsonDocument copied = BsonDocument.parse("{_id: " + id + "}");
      BsonDocument event = BsonDocument.parse("{region: 'eu', _id: " + id + "}");
      assertThat(Lanes.lane(event, 16)).as("document %d", id).isEqualTo(Lanes.lane(copied, 16));
    }
  }

  @Test
  void eventsWithoutAKeyUseLaneZero() {
    assertThat(Lanes.lane(null, 8)).isZero();
  }
}
