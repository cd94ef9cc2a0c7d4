package io.tidemark.connection;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class MongoConnectorTest {
  @Test
  void aRedactedUriKeepsTheUserAndHidesThePassword() {
    assertThat(MongoConnector.redact("mongodb://app:s3cret@mongo-1:27017,mongo-2:27017/?replicaSet=rs0&tls=true"))
        .isEqualTo("mongodb://app:***@mongo-1:27017,mongo-2:27017/?replicaSet=rs0&tls=true");
    assertThat(MongoConnector.redact("mongodb+srv://app:s3cret@cluster0.example.net/shop"))
        .isEqualTo("mongodb+srv://app:***@cluster0.example.net/shop");
    assertThat(MongoConnector.redact("mongodb://mongo-1:27017/?replicaSet=rs0")).isEqualTo("mongodb://mongo-1:27017/?replicaSet=rs0");
  }

  @Test
  void aPasswordIsHiddenWholeAlsoInAUriThatDoesNotParse() {
    // unescaped @ and / in the password; a wrong scheme; a scheme with one slash; no scheme at all
    assertThat(MongoConnector.redact("mongodb://app:s3@cr/et@host:27017")).isEqualTo("mongodb://app:***@host:27017");
    assertThat(MongoConnector.redact("mongo://app:s3cret@host")).isEqualTo("mongo://app:***@host");
    assertThat(MongoConnector.redact("mongodb:/app:s3cret@host")).isEqualTo("mongodb:/app:***@host");
    assertThat(MongoConnector.redact("app:s3cret@host:27017")).isEqualTo("app:***@host:27017");
    assertThat(MongoConnector.redact("mongodb://s3cret@host")).as("without a colon, all of it").isEqualTo("mongodb://***@host");
  }

  @Test
  void everyCredentialBearingOptionIsHidden() {
    assertThat(MongoConnector.redact("mongodb://app@mongo-1/?authMechanism=MONGODB-AWS&authMechanismProperties=AWS_SESSION_TOKEN:s3cret&tls=true"))
        .isEqualTo("mongodb://***@mongo-1/?authMechanism=MONGODB-AWS&authMechanismProperties=***&tls=true");
    assertThat(MongoConnector.redact("mongodb://mongo-1/?tls=true&tlsCertificateKeyFilePassword=s3cret"))
        .isEqualTo("mongodb://mongo-1/?tls=true&tlsCertificateKeyFilePassword=***");
    assertThat(MongoConnector.redact("mongodb://mongo-1/?sslClientCertificateKeyPassword=s3cret;authmechanismproperties=TOKEN_RESOURCE:s3cret"))
        .isEqualTo("mongodb://mongo-1/?sslClientCertificateKeyPassword=***;authmechanismproperties=***");
    assertThat(MongoConnector.redact("mongodb://mongo-1/?password=s3cret&secret=s3cret&accessToken=s3cret"))
        .doesNotContain("s3cret");
  }

  @Test
  void theHostsOfAUriWithCredentials() {
    assertThat(MongoConnector.hosts("mongodb://app:s3cret@mongo-1:27017,mongo-2:27017/?replicaSet=rs0")).isEqualTo("mongo-1:27017,mongo-2:27017");
  }
}
