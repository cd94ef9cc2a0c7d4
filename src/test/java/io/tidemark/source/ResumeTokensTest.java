package io.tidemark.source;

import static org.assertj.core.api.Assertions.assertThat;

import org.bson.BsonDocument;
import org.bson.BsonTimestamp;
import org.junit.jupiter.api.Test;

class ResumeTokensTest {

  @Test
  void readsTheClusterTimeAtTheStartOfAReplicaSetToken() {
    // A MongoDB 6.0 event token: 0x82, then Timestamp(1700000000, 5), then the opaque rest.
    BsonDocument token = BsonDocument.parse("{_data: \"826553F100000000052B022C0100296E5A1004ABCDEF\"}");
    assertThat(ResumeTokens.clusterTime(token)).isEqualTo(new BsonTimestamp(1700000000, 5));
  }

  @Test
  void returnsNullForTokensOfAnotherForm() {
    assertThat(ResumeTokens.clusterTime(BsonDocument.parse("{_data: \"000000000000002a\"}"))).isNull();
    assertThat(ResumeTokens.clusterTime(BsonDocument.parse("{_data: \"82zz\"}"))).isNull();
    assertThat(ResumeTokens.clusterTime(BsonDocument.parse("{_data: \"8265ZZF100000000052B\"}"))).isNull();
    assertThat(ResumeTokens.clusterTime(BsonDocument.parse("{_data: 5}"))).isNull();
    assertThat(ResumeTokens.clusterTime(null)).isNull();
  }
}
